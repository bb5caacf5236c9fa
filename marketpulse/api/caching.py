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
(`HeldResponses`, `API_CACHE_HELD_BYTES` of them, least recently used dropped first), so
a hit of a popular page costs no round trip: `bump_versions` publishes the scopes it
bumped, and every process drops what it holds of them when the message arrives (about a
millisecond), its own at once. Held entries count only while the subscription is live;
every second the process checks what it holds against the versions in Redis, so a
missed message costs at most that second.
"""

import contextlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlparse

import xxhash
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import RedisError

from marketpulse.api.throttles import Read
from marketpulse.follow import Follower

logger = logging.getLogger(__name__)

# Versions are per asset symbol (known from the URL, so a hit needs no database read),
# plus one for every multi-asset response (listings, top lists).
LISTING = "*"
HELD_RESYNC_SECONDS = 1.0  # held entries checked against Redis's versions this often


# Keys of their own whenever their meaning changed (random versions; entries that carry
# their expiry): processes of two releases can share a Redis during an upgrade without
# reading each other's entries.
def _version_key(scope: str) -> str:
    return f"mp:cache:ver:{scope}"


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


def _bumped_channel() -> str:
    # Pub/sub ignores the db number: the channel names it, so deployments sharing a
    # Redis do not drop each other's held entries.
    location = urlparse(str(settings.CACHES["responses"]["LOCATION"]))
    return f"mp:cache:bumped:{location.path.strip('/') or '0'}"


def bump_versions(symbols: Iterable[str], *, listing: bool = True) -> None:
    """Makes every cached response about these assets (and listings) stale."""
    scopes = set(symbols) | ({LISTING} if listing else set())
    HELD.forget(scopes)
    try:
        pipe = _redis().pipeline(transaction=False)
        version = _new_version()
        for scope in scopes:
            pipe.set(_version_key(scope), version)
        # After the SETs, on the same connection: a process that drops its entries on
        # this message and reads Redis again finds the new versions.
        pipe.publish(_bumped_channel(), "\n".join(sorted(scopes)))
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
        seen = HELD.generation
        return cls(scope, key, seen, HELD.get(key) if not _off() else None)

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
            HELD.keep(self.key, self.scope, version, cached, seen=self.seen)
        return cached, version


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
        HELD.keep(key, scope, version, built, seen=probe.seen)
    return json_response(request, body, etag=etag, hit=False)


@dataclass(frozen=True, slots=True)
class _Held:
    scope: str
    version: bytes
    cached: CachedBody


class HeldResponses(Follower):
    """The entries this process read or built lately, dropped when their scope is
    bumped (`bump_versions`' message) and whole when the subscription is lost."""

    name = "mp-held-responses"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Held] = OrderedDict()  # oldest use first
        self._size = 0
        self._live = False
        self.generation = 0  # bumps heard: a read begun before one is not held

    @property
    def live(self) -> bool:
        return self._live

    def get(self, key: str) -> CachedBody | None:
        if not self._live:
            return None
        with self._lock:
            held = self._entries.get(key)
            if held is None:
                return None
            if held.cached.expires <= time.time():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return held.cached

    def keep(
        self, key: str, scope: str, version: bytes, cached: CachedBody, *, seen: int
    ) -> None:
        budget = settings.API_CACHE_HELD_BYTES
        if not self._live or len(cached.body) > min(
            budget, settings.API_CACHE_MAX_BODY_BYTES
        ):
            return
        with self._lock:
            if seen != self.generation:
                return  # a bump arrived while it was read: it may be older than that
            self._drop(key)
            self._entries[key] = _Held(scope, version, cached)
            self._size += len(cached.body)
            while self._size > budget:
                self._drop(next(iter(self._entries)))

    def forget(self, scopes: Iterable[str]) -> None:
        scopes = set(scopes)
        with self._lock:
            self.generation += 1
            for key in [k for k, h in self._entries.items() if h.scope in scopes]:
                self._drop(key)

    def _drop(self, key: str) -> None:
        held = self._entries.pop(key, None)
        if held is not None:
            self._size -= len(held.cached.body)

    def location(self) -> str:
        return str(settings.CACHES["responses"]["LOCATION"])

    def resync_seconds(self) -> float:
        return HELD_RESYNC_SECONDS

    def pattern(self) -> str:
        return _bumped_channel()

    def apply(self, frames: list[bytes]) -> None:
        self.forget(s.decode() for frame in frames for s in frame.split(b"\n"))

    def resync(self) -> None:
        """Drops what was built from a version no longer current (a missed message)."""
        with self._lock:
            scopes = sorted({h.scope for h in self._entries.values()})
        if scopes:
            versions = _redis().mget([_version_key(s) for s in scopes])
            current = dict(zip(scopes, versions, strict=True))
            with self._lock:
                stale = [
                    key
                    for key, held in self._entries.items()
                    if current.get(held.scope, held.version) != held.version
                ]
                if stale:  # a bump was missed: a read in flight may predate it too
                    self.generation += 1
                for key in stale:
                    self._drop(key)
        self._live = True

    def lost(self) -> None:
        with self._lock:
            self._live = False
            self.generation += 1
            self._entries.clear()
            self._size = 0


HELD = HeldResponses()
