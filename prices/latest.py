"""Latest prices: Redis holds the fast copy, the `Asset` row the durable one.

Writers (the sync pipeline) call `record_latest_prices`; readers (API, WebSockets) call
`latest_prices`, which falls back to PostgreSQL when Redis misses or is down and then
refills Redis. Losing Redis loses nothing (DESIGN.md, Storage).
"""

import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

import orjson
from django.conf import settings
from django.db import transaction
from django_redis import get_redis_connection
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.exceptions import RedisError

from assets.models import Asset
from marketpulse.api import caching

logger = logging.getLogger(__name__)

REDIS_KEY = "mp:latest"
# Epoch milliseconds of each stored price's `as_of`, so a write can tell newer from older.
TIMES_KEY = "mp:latest:ms"
COMPLETE_KEY = "mp:latest:complete"

# Stores each (symbol, ms, price) unless Redis already holds a newer price of the symbol,
# in one atomic step: a reader refilling from PostgreSQL, or a late writer, can never put
# an older price over a newer one written meanwhile. Returns how many were stored.
STORE_IF_NEWER = """
local stored = 0
for i = 1, #ARGV, 3 do
    local held = redis.call('HGET', KEYS[2], ARGV[i])
    if not held or tonumber(held) <= tonumber(ARGV[i + 1]) then
        redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
        redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
        stored = stored + 1
    end
end
return stored
"""


class LatestPrice(TypedDict):
    symbol: str
    price: float
    quote: str
    as_of: str  # ISO 8601, UTC, "Z"
    source: str


def channel_prefix() -> str:
    """Redis pub/sub ignores the db number: the prefix keeps deployments (and parallel
    test runs) sharing one Redis apart."""
    return settings.REALTIME_CHANNEL_PREFIX


def price_group(symbol: str) -> str:
    """Where new prices of `symbol` are published (prices.realtime.broadcast), what
    WebSocket consumers subscribe to, and what the latest-price mirror follows."""
    return f"prices.{symbol.upper()}"


def iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond // 1000:03d}Z" if moment.microsecond else "Z"
    )


def _from_asset(asset: Asset) -> LatestPrice | None:
    if asset.price is None or asset.price_as_of is None:
        return None
    return LatestPrice(
        symbol=asset.symbol,
        price=asset.price,
        quote=settings.QUOTE_CURRENCY,
        as_of=iso_z(asset.price_as_of),
        source=asset.price_source,
    )


class Fresh(int):
    """How many prices were fresh (an int, as before), with the fresh prices themselves
    in `.prices` for the caller to publish."""

    prices: list[LatestPrice]

    def __new__(cls, prices: list[LatestPrice]) -> "Fresh":
        count = super().__new__(cls, len(prices))
        count.prices = prices
        return count


def record_latest_prices(prices: Iterable[tuple[Asset, float, datetime, str]]) -> Fresh:
    """Stores each (asset, price, as_of, source) in PostgreSQL, then Redis; returns count
    (a `Fresh`, whose `.prices` are the stored ones).

    A price older than the one stored is ignored, so a late or replayed update never moves
    the latest price backwards.
    """
    fresh: list[LatestPrice] = []
    changed: list[str] = []
    for asset, price, as_of, source in prices:
        updated = (
            Asset.objects.filter(pk=asset.pk)
            .exclude(price_as_of__gt=as_of)
            .update(price=price, price_as_of=as_of, price_source=source)
        )
        if updated:
            asset.price, asset.price_as_of, asset.price_source = price, as_of, source
            latest = _from_asset(asset)
            assert latest is not None
            fresh.append(latest)
            changed.append(asset.symbol)
    if fresh:
        try:
            _store(fresh)
        except RedisError:
            logger.warning("redis unavailable: latest prices kept in PostgreSQL only")
        # Asset pages and listings show the price: their cached copies go stale.
        transaction.on_commit(lambda: caching.bump_versions(changed))
    return Fresh(fresh)


def _from_database(symbols: list[str] | None) -> list[LatestPrice]:
    assets = Asset.objects.filter(price__isnull=False, price_as_of__isnull=False)
    assets = assets.tracked() if symbols is None else assets.filter(symbol__in=symbols)
    found = {a.symbol: p for a in assets if (p := _from_asset(a))}
    order = sorted(found) if symbols is None else symbols
    return [found[s] for s in order if s in found]


def _store(prices: list[LatestPrice], *, complete: bool = False) -> None:
    """Writes the prices Redis does not hold a newer one of (STORE_IF_NEWER)."""
    redis = get_redis_connection("default")
    args: list[str | int | bytes] = []
    for price in prices:
        as_of = datetime.fromisoformat(price["as_of"])
        args += [price["symbol"], int(as_of.timestamp() * 1000), orjson.dumps(price)]
    pipe = redis.pipeline()
    if args:
        redis.register_script(STORE_IF_NEWER)(
            keys=[REDIS_KEY, TIMES_KEY], args=args, client=pipe
        )
    if complete:
        pipe.set(COMPLETE_KEY, 1)
    pipe.execute()


def _refill(prices: list[LatestPrice], *, complete: bool) -> None:
    with contextlib.suppress(RedisError):  # already logged by the read that missed
        _store(prices, complete=complete)


def latest_prices(symbols: list[str] | None = None) -> tuple[list[LatestPrice], bool]:
    """Latest prices of `symbols` (every tracked asset when None), in that order (by
    symbol when None), and whether Redis answered alone (the `X-Cache` HIT/MISS)."""
    try:
        redis = get_redis_connection("default")
        if symbols is None:
            pipe = redis.pipeline(transaction=False)
            for command, args in latest_list_reads():
                getattr(pipe, command)(*args)
            every = parse_latest_list(pipe.execute())
            if every is not None:
                return every, True
        elif symbols:
            found = [parse_latest_price(v) for v in redis.hmget(REDIS_KEY, symbols)]
            if all(found):
                return found, True  # type: ignore[return-value]
    except RedisError:
        logger.warning("redis unavailable: latest prices read from PostgreSQL")
    prices = _from_database(symbols)
    _refill(prices, complete=symbols is None)
    return prices, False


def forget_latest_price(symbol: str) -> None:
    """Drops one asset's fast copy (untracked or deleted: no longer listed from Redis)."""
    try:
        pipe = get_redis_connection("default").pipeline()
        pipe.hdel(REDIS_KEY, symbol)
        pipe.hdel(TIMES_KEY, symbol)
        pipe.execute()
    except RedisError:
        logger.warning("redis unavailable: latest price of %s not dropped", symbol)


def latest_price_read(symbol: str) -> tuple[str, tuple[str, str]]:
    """The Redis command reading one latest price, for callers batching round trips;
    `parse_latest_price` reads its reply (None: ask `latest_prices`)."""
    return "hget", (REDIS_KEY, symbol)


def latest_list_reads() -> list[tuple[str, tuple[str]]]:
    """The Redis commands reading every latest price, for callers batching round trips;
    `parse_latest_list` reads their replies (None: ask `latest_prices`)."""
    return [("exists", (COMPLETE_KEY,)), ("hgetall", (REDIS_KEY,))]


def parse_latest_list(replies: list[Any]) -> list[LatestPrice] | None:
    """Every stored price by symbol, or None unless the hash is known complete (it may
    hold only some after Redis restarted: the marker says a full refill from PostgreSQL
    happened since) and each is one of ours."""
    complete, raw = replies
    if not complete or raw is None:  # (None: the batch found Redis down)
        return None
    found = [parse_latest_price(raw[k]) for k in sorted(raw)]
    return found if all(found) else None  # type: ignore[return-value]


def parse_latest_price(raw: bytes | None) -> LatestPrice | None:
    """The stored price, or None when missing or not one of ours (then PostgreSQL)."""
    if raw is None:
        return None
    try:
        price = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(price, dict) or not price.keys() >= _FIELDS:
        return None
    return price  # type: ignore[return-value]


_FIELDS = frozenset(LatestPrice.__annotations__)


def latest_price_ages() -> Iterable[Metric]:
    """Scrape-time gauge: seconds since each held latest price's `as_of` (staleness)."""
    family = GaugeMetricFamily(
        "marketpulse_latest_price_age_seconds",
        "Seconds since the as_of of each asset's latest price held in Redis.",
        labels=["symbol"],
    )
    try:
        held = get_redis_connection("default").hgetall(TIMES_KEY)
    except RedisError:
        return
    now_ms = time.time() * 1000
    for symbol, ms in sorted(held.items()):
        family.add_metric([symbol.decode()], max(0.0, (now_ms - float(ms)) / 1000))
    yield family
