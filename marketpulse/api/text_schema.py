"""Free text input says what the validators refuse (OpenAPI postprocessing hook).

Django and DRF refuse a NUL character in every text field and form field (their
`ProhibitNullCharactersValidator`) with a 400; PostgreSQL could not store it anyway. And a
DRF CharField trims surrounding whitespace before it checks for blanks, so where a value
may not be blank (`minLength: 1`), it needs a character other than whitespace. The schema
says both on every free-text input, query parameter or request body property, so what it
allows is what the validators accept. Text with a pattern, a format or an enum states its
own rule already.
"""

from typing import Any

NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def _free_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not (
        {"pattern", "format", "enum"} & schema.keys()
    )


def _forbid_nul(schema: dict[str, Any]) -> None:
    if _free_text(schema):
        schema["pattern"] = NOT_BLANK if schema.get("minLength") else NO_NUL
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _forbid_nul(schema["items"])


def forbid_nul_in_text(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _forbid_nul(parameter["schema"])
    # Request bodies have components of their own (COMPONENT_SPLIT_REQUEST).
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for prop in component.get("properties", {}).values():
                _forbid_nul(prop)
    return result
