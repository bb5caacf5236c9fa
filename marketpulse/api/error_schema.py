"""Documents the error envelope on the account and portfolio routes (OpenAPI).

A postprocessing hook rather than per-view decorators: which errors a route can return
follows from its shape (authenticated, has an id, writes), and listing them by hand on
every action would drift.
"""

from typing import Any

ERROR_COMPONENT = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "request_id"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
                "request_id": {"type": "string"},
            },
        }
    },
}

DESCRIPTIONS = {
    "400": "Invalid input (`validation_error`, `parse_error`): nothing was changed.",
    "401": "Not authenticated, or the token or API key is invalid, expired or revoked.",
    "403": "Authenticated, but not allowed (API keys cannot manage API keys).",
    "404": "No such object among yours (other users' objects are not revealed).",
    "409": "`oversell`: a sell would exceed the quantity held at its time; nothing was "
    "changed.",
    "422": "`idempotency_key_reused`: the Idempotency-Key was used for another request.",
}

PREFIXES = ("/api/v1/portfolios/", "/api/v1/api-keys/", "/api/v1/auth/")


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    statuses = []
    writes = method in ("post", "put", "patch")
    if writes or (
        "parameters" in operation
        and any(
            p["in"] == "query" and p["name"] not in ("limit", "offset")
            for p in operation["parameters"]
        )
    ):
        statuses.append("400")
    statuses.append("401")
    if path.startswith("/api/v1/api-keys/"):
        statuses.append("403")
    if "{" in path:
        statuses.append("404")
    if "/trades/" in path and method in ("post", "put", "patch", "delete"):
        statuses.append("409")
    if method == "post" and path.startswith("/api/v1/portfolios/"):
        statuses.append("422")
    return statuses


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = (
        ERROR_COMPONENT
    )
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(PREFIXES):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                responses.setdefault(
                    status,
                    {
                        "description": DESCRIPTIONS[status],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )
    return result
