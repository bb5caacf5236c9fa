"""Every latest price in the web process's memory, kept current by the price stream.

The most-polled reads (`/api/v1/prices/latest/[<symbol>/]`) answer from here with no
round trip at all: one Redis round trip cost about as much as the rest of the request on
the bench machine. A daemon thread per web process (`start`, from asgi.py) subscribes to
every symbol's price channel, then reads the Redis copy whole (so no price falls between
the two), applies each published price that is newer than the one held, and reads the
Redis copy whole again every `RESYNC_SECONDS` (a price stored without being published,
or an asset dropped from the copy, shows within that) and whenever redis-py has
reconnected and resubscribed (what was published meanwhile is in the copy).

The mirror answers only while it is live: until the first read, while the Redis copy is
not known complete (then readers go to Redis, which refills it from PostgreSQL), and from
a lost subscription until the next read after resubscribing, readers get None and take
the Redis path as before. Another process's write reaches this one when its publish does
(about a millisecond on one machine).
"""

import logging
import threading
import time
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import RedisError

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


class LatestMirror:
    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None  # None: not live
        self._stop = threading.Event()

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

    def run(self) -> None:
        """Follows the stream until `stop`, resubscribing after any failure."""
        while not self._stop.is_set():
            try:
                self._follow()
            except (RedisError, OSError) as error:
                if self._snapshot is not None:
                    logger.warning("latest-price mirror stopped: %s", error)
            except Exception:
                logger.exception("latest-price mirror failed")
            self._snapshot = None
            self._stop.wait(RETRY_SECONDS)

    def stop(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        subscriber = Redis.from_url(
            _default_location(),
            socket_connect_timeout=1,
            health_check_interval=10,
            client_name=CLIENT_NAME,
        )
        pubsub = subscriber.pubsub()
        try:
            pubsub.psubscribe(channel_prefix() + price_group("*"))
            while (message := pubsub.get_message(timeout=5)) is None or message[
                "type"
            ] != "psubscribe":
                if message is None:
                    raise RedisError("no subscription confirmed")
            self._resync()
            due = time.monotonic() + RESYNC_SECONDS
            while not self._stop.is_set():
                wait = min(1.0, max(0.0, due - time.monotonic()))  # `stop` within 1 s
                frames = []
                message = pubsub.get_message(timeout=wait)
                while message is not None:
                    if message["type"] == "pmessage":
                        frames.append(message["data"])
                    elif message["type"] == "psubscribe":
                        due = 0.0  # redis-py reconnected and resubscribed: read it all
                    if len(frames) >= 1000:
                        break
                    message = pubsub.get_message(timeout=0)  # drain: one new snapshot
                if frames:
                    self._apply(frames)
                if time.monotonic() >= due:
                    self._resync()
                    due = time.monotonic() + RESYNC_SECONDS
        finally:
            pubsub.close()
            subscriber.close()

    def _resync(self) -> None:
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

    def _apply(self, frames: list[bytes]) -> None:
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


def _default_location() -> str:
    """The default Redis, as the rest of the process uses it (django-redis's)."""
    return str(settings.CACHES["default"]["LOCATION"])


def _newer(a: LatestPrice, b: LatestPrice) -> bool:
    """Whether `a` is newer than `b` (ties: yes, as the store's rule)."""
    return datetime.fromisoformat(a["as_of"]) >= datetime.fromisoformat(b["as_of"])


MIRROR = LatestMirror()
_follower: threading.Thread | None = None


def start() -> LatestMirror:
    """Starts following the price stream in this process (once)."""
    global _follower
    if _follower is None:
        _follower = threading.Thread(
            target=MIRROR.run, name="latest-mirror", daemon=True
        )
        _follower.start()
    return MIRROR
