"""Schema pieces shared by the API views: the error envelope and its usual statuses."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorEnvelope = inline_serializer(
    "ErrorEnvelope",
    fields={
        "error": inline_serializer(
            "Error",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
                "request_id": serializers.CharField(),
            },
        )
    },
)


def error(description: str, code: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorEnvelope,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "error": {
                        "code": code,
                        "message": message,
                        "details": {},
                        "request_id": "6f1c0a3e9b2d4c58a7e1f0d2c3b4a596",
                    }
                },
            )
        ],
    )


BAD_REQUEST = error(
    "Invalid parameters, named in details.",
    "validation_error",
    "The request has invalid fields; see details.",
)
NOT_FOUND = error("Unknown symbol.", "not_found", "No asset with symbol XYZ.")
THROTTLED = error(
    "Rate limit exceeded; see Retry-After.", "throttled", "Request was throttled."
)

# Errors every read endpoint can return.
READ_ERRORS = {400: BAD_REQUEST, 429: THROTTLED}
