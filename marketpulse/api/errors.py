"""One error envelope for every error, whatever raised it (DESIGN.md, API conventions).

`{"error": {"code": ..., "message": ..., "details": {...}, "request_id": ...}}`
"""

import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from marketpulse.api.middleware import current_request_id
from marketpulse.errors import MarketPulseError

logger = logging.getLogger(__name__)


def envelope(
    code: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": current_request_id(),
        }
    }


_MESSAGES = {
    "validation_error": "The request has invalid fields; see details.",
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def too_large_message() -> str:
    return f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


# PostgreSQL unreachable (refused, timed out, dropped): a 503 the client may retry, not a
# 500. How long it takes to say so is DB_CONNECT_TIMEOUT (libpq's floor: 2 s).
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = 5


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The database is unavailable; try again shortly."

    def __init__(self) -> None:
        super().__init__()
        self.wait = DATABASE_RETRY_AFTER


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler, re-shaped into the envelope; anything unexpected becomes a clean 500."""
    if isinstance(exc, RequestDataTooBig):  # Django, reading a body over the limit
        exc = PayloadTooLarge(too_large_message())
    elif isinstance(exc, DATABASE_ERRORS):
        logger.warning("database unavailable: %s", type(exc).__name__)
        exc = DatabaseUnavailable()
    if isinstance(exc, MarketPulseError):
        return Response(envelope(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error", exc_info=exc)
        return Response(
            envelope("server_error", "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
        details: dict[str, Any] = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail}
        )
        message = _MESSAGES[code]
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        details = {}
        message = str(exc.detail)
    wait = getattr(exc, "wait", None)  # set on `Throttled` and `LockedOut`
    if wait is not None:
        details = {"retry_after": int(wait + 0.999)}
    response.data = envelope(code, message, details)
    return response


def _django_error(code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse(envelope(code, message), status=status_code)


# Django's own error handlers (outside DRF views): same envelope, never a traceback.
def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):  # a body over the limit, outside DRF
        return _django_error("payload_too_large", too_large_message(), 413)
    return _django_error("bad_request", "Bad request.", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _django_error("permission_denied", "You do not have permission.", 403)


def page_not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return _django_error("not_found", f"No route for {request.path}.", 404)


def server_error(request: HttpRequest) -> JsonResponse:
    # Called while Django handles the exception: outside DRF views (the admin, pages) a
    # database outage is a 503 too.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        response = _django_error(
            DatabaseUnavailable.default_code,
            str(DatabaseUnavailable.default_detail),
            503,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    return _django_error("server_error", "An unexpected error occurred.", 500)
