"""What a web process holds in memory of the response cache, current through pub/sub.

Cached responses (`caching.Probe`) and small facts behind them (an asset's stored
intervals: `prices.views.candle_series`) are held under a scope (an asset's symbol, or
`*` for listings), and dropped when that scope is bumped: `caching.bump_versions`
publishes the scopes it bumped after setting their versions, and every process drops
what it holds of them when the message arrives (about a millisecond), its own at once.
So a hit of a popular page costs no round trip.

Held entries count only while the subscription is live (`marketpulse.follow`): a lost
one drops everything, and so does a resubscription (what was published meanwhile is
unknown). Every second the process checks the held responses against the versions in
Redis, so a bump made without a message (a process of an earlier release) costs at most
that second for them; a fact is held at most `FACT_SECONDS`. At most
`API_CACHE_HELD_BYTES` are held, the least recently used dropped first.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django_redis import get_redis_connection

from marketpulse.follow import Follower

RESYNC_SECONDS = 1.0  # held responses checked against Redis's versions this often
FACT_SECONDS = 10.0


def version_key(scope: str) -> str:
    return f"mp:cache:ver:{scope}"


def bumped_channel() -> str:
    # Pub/sub ignores the db number: the channel names it, so deployments sharing a
    # Redis do not drop each other's held entries.
    location = urlparse(str(settings.CACHES["responses"]["LOCATION"]))
    return f"mp:cache:bumped:{location.path.strip('/') or '0'}"


@dataclass(frozen=True, slots=True)
class _Held:
    scope: str
    version: bytes | None  # a response's: the scope's version it was built from
    value: Any
    size: int
    expires: float  # epoch seconds


class Held(Follower):
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

    def get(self, key: str) -> Any | None:
        if not self._live:
            return None
        with self._lock:
            held = self._entries.get(key)
            if held is None:
                return None
            if held.expires <= time.time():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return held.value

    def keep(
        self,
        key: str,
        scope: str,
        value: Any,
        *,
        size: int,
        expires: float,
        seen: int,
        version: bytes | None = None,
    ) -> None:
        """Holds `value` unless a bump arrived since `seen` (`generation` taken before
        it was read: it may predate the bump) or it is larger than the budget."""
        budget = settings.API_CACHE_HELD_BYTES
        if not self._live or size > budget:
            return
        with self._lock:
            if seen != self.generation:
                return
            self._drop(key)
            self._entries[key] = _Held(scope, version, value, size, expires)
            self._size += size
            while self._size > budget:
                self._drop(next(iter(self._entries)))

    def keep_fact(self, key: str, scope: str, value: Any, *, seen: int) -> None:
        expires = time.time() + FACT_SECONDS
        # A few small objects: counted at a nominal size against the budget.
        self.keep(key, scope, value, size=256, expires=expires, seen=seen)

    def forget(self, scopes: Iterable[str]) -> None:
        scopes = set(scopes)
        with self._lock:
            self.generation += 1
            for key in [k for k, h in self._entries.items() if h.scope in scopes]:
                self._drop(key)

    def _drop(self, key: str) -> None:
        held = self._entries.pop(key, None)
        if held is not None:
            self._size -= held.size

    # As a Follower: the bump messages, and the versions of what is held.
    def location(self) -> str:
        return str(settings.CACHES["responses"]["LOCATION"])

    def pattern(self) -> str:
        return bumped_channel()

    def resync_seconds(self) -> float:
        return RESYNC_SECONDS

    def apply(self, frames: list[bytes]) -> None:
        self.forget(s.decode() for frame in frames for s in frame.split(b"\n"))

    def resubscribed(self) -> None:
        self.lost()
        self.resync()

    def resync(self) -> None:
        """Drops the responses built from a version no longer current."""
        with self._lock:
            scopes = sorted({h.scope for h in self._entries.values() if h.version})
        if scopes:
            redis = get_redis_connection("responses")
            versions = redis.mget([version_key(s) for s in scopes])
            current = dict(zip(scopes, versions, strict=True))
            with self._lock:
                stale = [
                    key
                    for key, held in self._entries.items()
                    if held.version
                    and current.get(held.scope, held.version) != held.version
                ]
                if stale:  # a bump without a message: a read in flight may predate it
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


HELD = Held()
