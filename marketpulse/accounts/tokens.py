"""Which tokens still speak for their user.

Every token carries a digest of its user's password hash (simplejwt's
`CHECK_REVOKE_TOKEN`): a password change makes every refresh and access token issued
before it worthless, without a table of issued tokens. A deactivated or deleted user's
tokens name nobody. Bearer requests are checked by simplejwt itself; the refresh endpoint
and WebSocket handshakes through `user_for_payload`.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password


def user_for_payload(payload: Any) -> Any:
    """The active user a token names, if the token predates no password change; or None."""
    user_id = payload.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if payload.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        return None
    return user


class RefreshSerializer(TokenRefreshSerializer):
    """A refresh for a deleted, deactivated or re-passworded user is a 401, never a 500."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])  # a bad token: TokenError, a 401
        if user_for_payload(refresh.payload) is None:
            raise AuthenticationFailed(
                "The refresh token no longer speaks for an active account; "
                "sign in again.",
                code="token_not_valid",
            )
        return {"access": str(refresh.access_token)}
