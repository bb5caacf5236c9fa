"""Response cache in Redis, invalidated by per-asset version numbers.

Writers bump an asset's version when its data changes (`upsert_candles`,
`record_latest_prices`, saving an `Asset`); a cached entry remembers the version it was
built from and counts as a hit only while that is still current. The version and the
entry come back in one MGET, so a hit costs one round trip. With Redis down every read
is a miss and nothing is stored: responses come from PostgreSQL, just slower.
"""

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Versions are per asset symbol (known from the URL, so a hit needs no database read),
# plus one for every multi-asset response (listings, top lists).
LISTING = "*"


def _version_key(scope: str) -> str:
    return f"mp:ver:{scope}"


def _entry_key(key: str) -> str:
    return f"mp:resp:{key}"


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    etag: str


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def bump_versions(symbols: Iterable[str], *, listing: bool = True) -> None:
    """Makes every cached response about these assets (and listings) stale."""
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for symbol in set(symbols):
            pipe.incr(_version_key(symbol))
        if listing:
            pipe.incr(_version_key(LISTING))
        pipe.execute()
    except RedisError:
        # Entries expire by TTL; while Redis is down nothing is read from it anyway.
        logger.warning("redis unavailable: cache versions not bumped")


def lookup(*, scope: str, key: str) -> tuple[CachedBody | None, int | None]:
    """The cached body for `key` if built from the current version of `scope`, and that
    version (None when Redis is unavailable: then do not store either)."""
    try:
        version, raw = get_redis_connection("default").mget(
            [_version_key(scope), _entry_key(key)]
        )
    except RedisError:
        return None, None
    current = int(version or 0)
    if raw is not None:
        stored, etag, body = raw.split(b"\n", 2)
        if int(stored) == current:
            return CachedBody(body=body, etag=etag.decode()), current
    return None, current


def store(*, key: str, version: int, body: bytes, etag: str, ttl: int) -> None:
    with contextlib.suppress(RedisError):
        get_redis_connection("default").set(
            _entry_key(key), b"%d\n%s\n%s" % (version, etag.encode(), body), ex=ttl
        )


def json_with_x_cache(body: bytes, *, hit: bool) -> HttpResponse:
    """A JSON response saying whether Redis answered alone (`X-Cache`)."""
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = "HIT" if hit else "MISS"
    return response


def json_response(
    request: HttpRequest, body: bytes, *, etag: str, hit: bool
) -> HttpResponseBase:
    """The body with its ETag and X-Cache, or 304 when the client already has it
    (Django's conditional-request rules: weak `W/` tags and `*` match too)."""
    response = get_conditional_response(request, etag=etag) or json_with_x_cache(
        body, hit=hit
    )
    response["ETag"] = etag
    response["X-Cache"] = "HIT" if hit else "MISS"
    return response


def cached_json(
    request: HttpRequest,
    *,
    scope: str,
    key: str,
    build: Callable[[], tuple[bytes, int]],
) -> HttpResponseBase:
    """Serves `key` from the cache while `scope`'s version is current, else calls `build`
    (-> body, seconds to keep it) and stores what it returns."""
    cached, version = lookup(scope=scope, key=key)
    if cached is not None:
        return json_response(request, cached.body, etag=cached.etag, hit=True)
    body, ttl = build()
    etag = etag_for(body)
    if version is not None and ttl > 0:
        store(key=key, version=version, body=body, etag=etag, ttl=ttl)
    return json_response(request, body, etag=etag, hit=False)
