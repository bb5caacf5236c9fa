"""`Idempotency-Key` on POSTs: a retried request gets the first result, not a second write.

The key row is inserted in the same transaction as the write it guards. A concurrent
duplicate blocks on the unique index until the first commits, then replays its response;
if the first fails (validation, 409) everything rolls back, the key included, so a retry
runs again. Only successful responses are remembered.
"""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from marketpulse.errors import MarketPulseError
from marketpulse.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# 1 to 255 printable ASCII characters, not starting or ending with a space (HTTP would
# strip it); also the header's OpenAPI `pattern`.
KEY_PATTERN = rf"^[!-~]([ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"
KEY_RE = re.compile(KEY_PATTERN)


def fingerprint(request: Request) -> str:
    try:
        body = orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # what orjson cannot write (integers past 64 bits): the slow way
        body = json.dumps(request.data, sort_keys=True, default=str).encode()
    return hashlib.sha256(
        (request.method or "").encode() + b" " + request.path.encode() + b"\n" + body
    ).hexdigest()


def _claim(*, user: Any, key: str, print_: str) -> IdempotencyKey | None:
    """The stored record to replay, or None once this request owns the key."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                user=user,
                key=key,
                fingerprint=print_,
                response_status=0,
                response_body={},
            )
        return None
    except IntegrityError:
        record = IdempotencyKey.objects.select_for_update().get(user=user, key=key)
    ttl = timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    if record.created_at < datetime.now(UTC) - ttl:
        # Expired: the key may be used afresh.
        record.delete()
        return _claim(user=user, key=key, print_=print_)
    if record.fingerprint != print_:
        raise MarketPulseError(
            code="idempotency_key_reused",
            message=f"This {HEADER} was already used for a different request.",
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return record


class IdempotentCreateMixin:
    """For viewsets: POST (create) honours `Idempotency-Key`."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return super().create(request, *args, **kwargs)  # type: ignore[misc]
        if not KEY_RE.fullmatch(key):
            raise MarketPulseError(
                code="validation_error",
                message=f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII "
                "characters.",
                details={HEADER: ["invalid key"]},
            )
        with transaction.atomic():
            record = _claim(user=request.user, key=key, print_=fingerprint(request))
            if record is not None:
                return Response(
                    record.response_body,
                    status=record.response_status,
                    headers={REPLAYED_HEADER: "true"},
                )
            response = super().create(request, *args, **kwargs)  # type: ignore[misc]
            IdempotencyKey.objects.filter(user=request.user, key=key).update(  # type: ignore[misc]  # authenticated: a User
                response_status=response.status_code,
                response_body=orjson.loads(orjson.dumps(response.data, default=str)),
            )
        return response


def purge_expired_keys(*, now: datetime | None = None) -> int:
    """Deletes the records older than `IDEMPOTENCY_TTL_HOURS` (past it a key counts as
    new anyway, so they only take space); returns how many went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(
        hours=settings.IDEMPOTENCY_TTL_HOURS
    )
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
