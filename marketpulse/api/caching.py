"""Response cache in Redis, invalidated by per-asset versions.

Writers bump an asset's version when its data changes (`upsert_candles`,
`record_latest_prices`, saving an `Asset`); a cached entry remembers the version it was
built from and counts as a hit only while that is still current. The version and the
entry come back in one MGET, so a hit costs one round trip; where the cache shares the
default Redis, that MGET rides on the rate limiter's round trip (`lookup_read`), so a
throttled hit costs one round trip in all. With Redis down every read is a miss and
nothing is stored: responses come from PostgreSQL, just slower.

The cache has a Redis of its own that evicts (`CACHE_REDIS_URL`, allkeys-lru), so a
version may vanish: versions are random never-reused values, not counters, so a version
made again after an eviction can never match an older entry.
Bodies over `API_CACHE_MAX_BODY_BYTES` are not stored.

In the web server each process also holds the entries it read or built lately
(`marketpulse.api.held`): `bump_versions` publishes the scopes it bumped, and each
process drops what it holds of them, so a hit of a popular page costs no round trip.
"""

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

import xxhash
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import RedisError

from marketpulse.api import held
from marketpulse.api.held import version_key as _version_key
from marketpulse.api.throttles import Read

logger = logging.getLogger(__name__)

# Versions are per asset symbol (known from the URL, so a hit needs no database read),
# plus one for every multi-asset response (listings, top lists).
LISTING = "*"


# Keys of their own whenever their meaning changed (random versions; entries that carry
# their expiry): processes of two releases can share a Redis during an upgrade without
# reading each other's entries.
def _entry_key(key: str) -> str:
    return f"mp:cache:entry:{key}"


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    etag: str
    expires: float  # epoch seconds: a forming candle's page lives only until it closes


def etag_for(body: bytes) -> str:
    # A validator, not a signature: XXH3-128 hashes a 1.5 MB body in ~24 us where
    # SHA-256 (in the CPU's SHA instructions) took ~760 us (bench machine, 2026-12-04).
    return '"' + xxhash.xxh3_128_hexdigest(body)[:24] + '"'


def _redis() -> Redis:
    return get_redis_connection("responses")


def _new_version() -> bytes:
    return uuid.uuid4().hex.encode()


def bump_versions(symbols: Iterable[str], *, listing: bool = True) -> None:
    """Makes every cached response about these assets (and listings) stale."""
    scopes = set(symbols) | ({LISTING} if listing else set())
    held.HELD.forget(scopes)
    try:
        pipe = _redis().pipeline(transaction=False)
        version = _new_version()
        for scope in scopes:
            pipe.set(_version_key(scope), version)
        # After the SETs, on the same connection: a process that drops its entries on
        # this message and reads Redis again finds the new versions.
        pipe.publish(held.bumped_channel(), "\n".join(sorted(scopes)))
        pipe.execute()
    except RedisError:
        # Entries expire by TTL; while Redis is down nothing is read from it anyway.
        logger.warning("redis unavailable: cache versions not bumped")


def lookup_read(*, scope: str, key: str) -> Read | None:
    """The MGET `lookup` sends, for another round trip to the default Redis to carry
    (the rate limiter's: `count_request`), or None when the response cache has a Redis
    of its own (`CACHE_REDIS_URL`)."""
    caches = settings.CACHES
    if _off() or caches["responses"]["LOCATION"] != caches["default"]["LOCATION"]:
        return None
    return "mget", ([_version_key(scope), _entry_key(key)],)


def _off() -> bool:
    """`API_CACHE_TTL=0`: nothing is stored, so nothing is looked up (no round trip)."""
    return bool(settings.API_CACHE_TTL <= 0)


@dataclass(frozen=True, slots=True)
class Probe:
    """One look for `key`: what this process holds, else Redis's answer. Made before
    anything is read, so an entry read from Redis is held only if no bump arrived
    since (`seen`)."""

    scope: str
    key: str
    seen: int
    held: CachedBody | None

    @classmethod
    def of(cls, *, scope: str, key: str) -> "Probe":
        seen = held.HELD.generation
        return cls(scope, key, seen, held.HELD.get(key) if not _off() else None)

    def read(self) -> Read | None:
        """`lookup_read`'s MGET, or None when nothing needs reading (held) or it
        cannot ride along."""
        return None if self.held else lookup_read(scope=self.scope, key=self.key)

    def answer(
        self, replied: list[bytes | None] | None = None
    ) -> tuple[CachedBody | None, bytes | None]:
        """As `lookup`'s; `replied`: the reply to `read()`'s MGET."""
        if self.held is not None:
            return self.held, None
        cached, version = lookup(scope=self.scope, key=self.key, replied=replied)
        if cached is not None and version is not None:
            self.hold(version, cached)
        return cached, version

    def hold(self, version: bytes, cached: CachedBody) -> None:
        """Holds what Redis keeps (or would): bodies up to API_CACHE_MAX_BODY_BYTES."""
        if len(cached.body) > settings.API_CACHE_MAX_BODY_BYTES:
            return
        held.HELD.keep(
            self.key, self.scope, cached, size=len(cached.body),
            expires=cached.expires, seen=self.seen, version=version,
        )  # fmt: skip


def lookup(
    *, scope: str, key: str, replied: list[bytes | None] | None = None
) -> tuple[CachedBody | None, bytes | None]:
    """The cached body for `key` if built from the current version of `scope`, and that
    version (None when Redis is unavailable: then do not store either), from Redis.
    `replied`: the reply to `lookup_read`'s MGET where another round trip carried it."""
    if _off():
        return None, None
    try:
        redis = _redis()
        # Replies are bytes: the cache's client does not decode.
        version, raw = replied or cast(
            list[bytes | None], redis.mget([_version_key(scope), _entry_key(key)])
        )
        if version is None:  # never bumped, or evicted: a value no entry can hold
            fresh = _new_version()
            redis.set(_version_key(scope), fresh, nx=True)
            return None, cast(bytes | None, redis.get(_version_key(scope))) or fresh
    except RedisError:
        return None, None
    if raw is not None:
        stored, etag, expires, body = raw.split(b"\n", 3)
        if stored == version:
            return CachedBody(body, etag.decode(), float(expires)), version
    return None, version


def store(*, key: str, version: bytes, cached: CachedBody) -> None:
    if len(cached.body) > settings.API_CACHE_MAX_BODY_BYTES:
        return  # served, not kept: one client's huge pages must not fill the cache
    entry = b"%s\n%s\n%d\n%s" % (
        version,
        cached.etag.encode(),
        cached.expires,
        cached.body,
    )
    with contextlib.suppress(RedisError):
        _redis().set(_entry_key(key), entry, exat=int(cached.expires))


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
    probe: Probe | None = None,
    replied: list[bytes | None] | None = None,
) -> HttpResponseBase:
    """Serves `key` from the cache while `scope`'s version is current, else calls `build`
    (-> body, seconds to keep it) and stores what it returns. `probe`, `replied`: a
    look already begun, and the reply to its read where another round trip carried it."""
    probe = probe or Probe.of(scope=scope, key=key)
    cached, version = probe.answer(replied)
    if cached is not None:
        return json_response(request, cached.body, etag=cached.etag, hit=True)
    body, ttl = build()
    etag = etag_for(body)
    if version is not None and ttl > 0:
        built = CachedBody(body, etag, float(int(time.time()) + ttl))
        store(key=key, version=version, cached=built)
        probe.hold(version, built)
    return json_response(request, body, etag=etag, hit=False)
