"""Documents the error envelope on the authenticated routes (OpenAPI).

A postprocessing hook rather than per-view decorators: which errors a route can return
follows from its shape (authenticated, has an id, writes), and listing them by hand on
every action would drift.
"""

from typing import Any

# The same two components that `marketpulse.api.schema.ErrorEnvelope` produces, so views
# documented either way share one definition.
ERROR_COMPONENTS = {
    "Error": {
        "type": "object",
        "required": ["code", "message", "details", "request_id"],
        "properties": {
            "code": {"type": "string", "example": "validation_error"},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": {}},
            "request_id": {"type": "string"},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/Error"}},
    },
}

DESCRIPTIONS = {
    "400": "Invalid input (`validation_error`, `parse_error`): nothing was changed.",
    "401": "Not authenticated, or the token or API key is invalid, expired or revoked.",
    "403": "Authenticated, but not allowed (operators only; API keys cannot manage "
    "API keys).",
    "404": "No such object among yours (other users' objects are not revealed).",
    "409": "`oversell`: a sell would exceed the quantity held at its time; nothing was "
    "changed.",
    "429": "`throttled`: too many requests; see `Retry-After`.",
    "422": "`idempotency_key_reused`: the Idempotency-Key was used for another request.",
}

PREFIXES = (
    "/api/v1/portfolios/",
    "/api/v1/api-keys/",
    "/api/v1/auth/",
    "/api/v1/sync-runs/",
    "/api/v1/sync/",
    "/api/v1/audit/",
    "/api/v1/alerts/",
    "/api/v1/prices/manual/",
    "/api/v1/analytics/predictions/",
    "/api/v1/analytics/models/train/",
)
# Routes only operators may use.
OPERATOR_PREFIXES = (
    "/api/v1/sync-runs/",
    "/api/v1/sync/",
    "/api/v1/prices/manual/",
    "/api/v1/analytics/models/train/",
)


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
    if path.startswith(("/api/v1/api-keys/", *OPERATOR_PREFIXES)):
        statuses.append("403")
    if "{" in path:
        statuses.append("404")
    if "/trades/" in path and method in ("post", "put", "patch", "delete"):
        statuses.append("409")
    if method == "post" and path.startswith("/api/v1/portfolios/"):
        statuses.append("422")
    # Every route is throttled; token requests tightly (password guessing).
    statuses.append("429")
    return statuses


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in ERROR_COMPONENTS.items():
        schemas.setdefault(name, component)
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
                                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}
                            }
                        },
                    },
                )
    return result
