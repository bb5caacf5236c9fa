"""How API clients authenticate: `Authorization: Bearer <access token>` (simplejwt) or
`X-API-Key: <key>`; sessions serve the admin and browser pages.

For both, `request.user` is the user and `request.auth` the token or the `ApiKey` (so
throttles can count per user or per key).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import Token

from marketpulse.accounts.keys import api_key_for
from marketpulse.models import ApiKey

API_KEY_HEADER = "X-API-Key"


class BearerAuthentication(JWTAuthentication):
    """simplejwt's, with its nested error detail flattened into one message for the
    envelope."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return super().get_validated_token(raw_token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(
                "The access token is invalid or expired.", code="token_not_valid"
            ) from exc


class ApiKeyAuthentication(BaseAuthentication):
    """`X-API-Key`: an unknown or revoked key is a 401, never a silent anonymous call."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        raw = request.headers.get(API_KEY_HEADER)
        if not raw:
            return None
        api_key = api_key_for(raw=raw.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "The API key is invalid or revoked.", code="invalid_api_key"
            )
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "marketpulse.accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": API_KEY_HEADER,
            "description": "An API key created at `/api/v1/api-keys/` (shown once).",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "marketpulse.accounts.authentication.BearerAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/v1/auth/token/`.",
        }
