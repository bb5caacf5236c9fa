"""WebSocket handshake checks: the Origin of browsers, and JWT access tokens.

Session cookies are read by Channels' `AuthMiddlewareStack`; a token (`?token=` or
`Authorization: Bearer`) replaces that user, so programs authenticate without cookies.
"""

from typing import Any
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


class BrowserOriginValidator(OriginValidator):
    """Browsers always send Origin: it must be one of ours (a page elsewhere must not ride
    a user's session cookie). Programs send none and carry no victim's cookie: let in."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or bool(self.validate_origin(parsed_origin))


def browser_origin_validator(application: Any) -> BrowserOriginValidator:
    allowed = [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS]
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        allowed += ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)


def token_from(scope: dict[str, Any]) -> str | None:
    query = dict(parse_qsl(scope.get("query_string", b"").decode()))
    if query.get("token"):
        return query["token"]
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@database_sync_to_async
def user_for_token(token: str) -> Any:
    """The active user an access token names, or None for a bad or expired token."""
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import AccessToken

    from marketpulse.accounts.tokens import user_for_payload

    try:
        payload = AccessToken(token).payload  # type: ignore[arg-type]
    except TokenError:
        return None
    return user_for_payload(payload)


class TokenAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` from a JWT access token when one is given; a bad token sets
    `scope["auth_error"]` (the consumer reports it) instead of silently falling back."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = token_from(scope)
        if token is not None:
            scope = dict(scope)
            user = await user_for_token(token)
            if user is None:
                scope["user"] = AnonymousUser()
                scope["auth_error"] = "The access token is invalid or expired."
            else:
                scope["user"] = user
        return await super().__call__(scope, receive, send)
