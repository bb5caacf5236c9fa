"""Every latest price in the web process's memory, kept current by the price stream.

The most-polled reads (`/api/v1/prices/latest/[<symbol>/]`) answer from here with no
round trip at all: one Redis round trip cost about as much as the rest of the request on
the bench machine. A daemon thread per web process (`start`, from asgi.py; the loop is
`marketpulse.follow`'s) subscribes to every symbol's price channel, then reads the Redis
copy whole (so no price falls between the two), applies each published price that is
newer than the one held, and reads the Redis copy whole again every `RESYNC_SECONDS` (a
price stored without being published, or an asset dropped from the copy, shows within
that) and whenever redis-py has reconnected and resubscribed.

The mirror answers only while it is live: until the first read, while the Redis copy is
not known complete (then readers go to Redis, which refills it from PostgreSQL), and from
a lost subscription until the next read after resubscribing, readers get None and take
the Redis path as before. Another process's write reaches this one when its publish does
(about a millisecond on one machine).
"""

import logging
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django_redis import get_redis_connection

from marketpulse.follow import Follower
from prices.latest import (
    LatestPrice,
    channel_prefix,
    latest_list_reads,
    parse_latest_list,
    price_group,
)

logger = logging.getLogger(__name__)

RESYNC_SECONDS = 1.0
RETRY_SECONDS = 1.0
CLIENT_NAME = "mp-latest-mirror"  # its subscription, as CLIENT LIST names it
_FIELDS = tuple(LatestPrice.__annotations__)


class Snapshot:
    """The prices held at one moment: by symbol, and listed by symbol. Replaced whole
    on every change, so a reader never sees half an update."""

    __slots__ = ("by_symbol", "listed")

    def __init__(self, by_symbol: dict[str, LatestPrice]) -> None:
        self.by_symbol = by_symbol
        self.listed = [by_symbol[s] for s in sorted(by_symbol)]


class LatestMirror(Follower):
    name = CLIENT_NAME

    def __init__(self) -> None:
        super().__init__()
        self._snapshot: Snapshot | None = None  # None: not live

    @property
    def live(self) -> bool:
        return self._snapshot is not None

    def price(self, symbol: str) -> LatestPrice | None:
        """The held price of `symbol`, or None (not live, or none held: ask Redis)."""
        snapshot = self._snapshot
        return snapshot.by_symbol.get(symbol) if snapshot else None

    def every(self) -> list[LatestPrice] | None:
        """Every held price by symbol, or None when not live."""
        snapshot = self._snapshot
        return snapshot.listed if snapshot else None

    def location(self) -> str:
        return str(settings.CACHES["default"]["LOCATION"])  # django-redis's Redis

    def pattern(self) -> str:
        return channel_prefix() + price_group("*")

    def resync_seconds(self) -> float:
        return RESYNC_SECONDS

    def retry_seconds(self) -> float:
        return RETRY_SECONDS

    def lost(self) -> None:
        self._snapshot = None

    def resync(self) -> None:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for command, args in latest_list_reads():
            getattr(pipe, command)(*args)
        every = parse_latest_list(pipe.execute())
        if every is None:  # not known complete: readers refill it through Redis
            self._snapshot = None
            return
        held = self._snapshot.by_symbol if self._snapshot else {}
        by_symbol = {}
        for price in every:
            mine = held.get(price["symbol"])
            by_symbol[price["symbol"]] = (
                mine if mine is not None and _newer(mine, price) else price
            )
        if self._snapshot is None:
            logger.info("latest-price mirror live: %d prices", len(by_symbol))
        self._snapshot = Snapshot(by_symbol)

    def apply(self, frames: list[bytes]) -> None:
        """The published prices newer than those held, in one new snapshot."""
        snapshot = self._snapshot
        if snapshot is None:
            return
        by_symbol = dict(snapshot.by_symbol)
        for frame in frames:
            try:
                message: dict[str, Any] = orjson.loads(frame)
            except orjson.JSONDecodeError:
                continue
            if message.get("type") != "price" or any(k not in message for k in _FIELDS):
                continue  # anomalies travel on the same channels
            price: LatestPrice = {k: message[k] for k in _FIELDS}  # type: ignore[assignment]
            held = by_symbol.get(price["symbol"])
            if held is None or _newer(price, held):
                by_symbol[price["symbol"]] = price
        self._snapshot = Snapshot(by_symbol)


def _newer(a: LatestPrice, b: LatestPrice) -> bool:
    """Whether `a` is newer than `b` (ties: yes, as the store's rule)."""
    return datetime.fromisoformat(a["as_of"]) >= datetime.fromisoformat(b["as_of"])


MIRROR = LatestMirror()


def start() -> LatestMirror:
    """Starts following the price stream in this process (once)."""
    MIRROR.start()
    return MIRROR
