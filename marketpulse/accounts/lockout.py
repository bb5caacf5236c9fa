"""Password guessing: django-axes counts failed sign-ins per username and per address in
PostgreSQL (so the lockout holds with Redis down) and refuses every sign-in of a locked
username or address, right password included, until the cool-off ends.

Both ways in answer a lockout with the error envelope: the token endpoint (a DRF view, so
axes' middleware never sees its flag: the view raises `LockedOut`) and the admin login
(axes' middleware calls `lockout_response`).
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView

from marketpulse.api.errors import envelope

MESSAGE = "Too many failed sign-in attempts; try again later."


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    default_detail = MESSAGE

    def __init__(self) -> None:
        super().__init__()
        self.wait = cool_off_seconds()  # sent as Retry-After, like `Throttled`


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """axes' AXES_LOCKOUT_CALLABLE: the envelope, 429, with Retry-After."""
    seconds = cool_off_seconds()
    response = JsonResponse(
        envelope("locked_out", MESSAGE, {"retry_after": seconds}),
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = str(seconds)
    return response


class TokenObtainSerializer(TokenObtainPairSerializer):
    """A username longer than any user's is a 400: axes would otherwise try to record
    it in its 255-character column (a 500)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(
            write_only=True, max_length=150
        )


class TokenObtainView(TokenObtainPairView):
    """simplejwt's token view; a sign-in axes refused is a 429 `locked_out`, not a 401."""

    _serializer_class = "marketpulse.accounts.lockout.TokenObtainSerializer"

    def handle_exception(self, exc: Exception) -> Response:
        # axes flags the request it was given: simplejwt hands it the DRF request.
        if getattr(self.request, "axes_locked_out", False):
            exc = LockedOut()
        return super().handle_exception(exc)
