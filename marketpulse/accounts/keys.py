"""API keys: create (the key is returned once), revoke, and authenticate by key."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import QuerySet

from marketpulse.models import ApiKey

KEY_START = "mp_"
PREFIX_CHARS = 8


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key, which is never stored or shown again."""
    while True:
        prefix = KEY_START + secrets.token_hex(PREFIX_CHARS // 2)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        user=user, name=name, prefix=prefix, hashed_key=hash_key(raw)
    )
    return api_key, raw


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    """Idempotent: revoking a revoked key keeps its first revocation time."""
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_for(*, raw: str) -> ApiKey | None:
    """The active key of an active user matching `raw`; marks it used (at most once a
    minute, so a busy key does not write on every request)."""
    if not raw.startswith(KEY_START) or len(raw) > 200:
        return None
    api_key = (
        ApiKey.objects.select_related("user")
        .filter(hashed_key=hash_key(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_key is None:
        return None
    now = datetime.now(UTC)
    stale = now - timedelta(seconds=settings.API_KEY_TOUCH_SECONDS)
    if api_key.last_used_at is None or api_key.last_used_at < stale:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_keys_for(*, user: User | AbstractBaseUser | AnonymousUser) -> QuerySet[ApiKey]:
    if not isinstance(user, User):
        return ApiKey.objects.none()
    return ApiKey.objects.filter(user=user)
