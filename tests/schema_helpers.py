"""Reading the generated OpenAPI schema in tests."""

from typing import Any

from drf_spectacular.generators import SchemaGenerator


def generated_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def parameter(
    schema: dict[str, Any], path: str, name: str, where: str, method: str = "get"
) -> dict[str, Any]:
    """The JSON schema of one parameter of one operation."""
    for candidate in schema["paths"][path][method]["parameters"]:
        if candidate["name"] == name and candidate["in"] == where:
            return candidate["schema"]
    raise KeyError(f"{method.upper()} {path} has no {where} parameter {name!r}")


def query_parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    return parameter(schema, path, name, "query")
