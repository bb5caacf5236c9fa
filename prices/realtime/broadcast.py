"""Publishing to WebSocket clients: channel names, payloads, the send helpers.

Every message travels once through Redis pub/sub, on a channel named here, and each web
process hands the already-encoded frame to its own subscribed connections (`prices.realtime.fanout`).
Measured on the 2-core machine with 1000 clients at 10 updates/s: one channels-redis group
per symbol delivered at p50 15 s / p99 30 s (CPU-bound in per-consumer dispatch); encoding
once per update and writing it to local sockets stays under 100 ms at p99 (`make bench`).

The sync pipeline calls `publish_price` for every new latest price; alert delivery
(`analytics.alerts.delivery.publish_alert`) publishes through `publish`. Both are synchronous (Celery, views) and never raise on a Redis outage:
the data is already in PostgreSQL, only the live push is lost.
"""

import logging
from datetime import datetime
from typing import Any, TypedDict

import orjson
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from prices.intervals import DURATIONS, floor_time, next_open
from prices.latest import LatestPrice, channel_prefix, iso_z, price_group

logger = logging.getLogger(__name__)


class PriceMessage(TypedDict):
    type: str  # "price"
    symbol: str
    price: float
    quote: str
    as_of: str
    source: str


def alert_group(user_id: int) -> str:
    return f"alerts.{user_id}"


def price_frame(price: LatestPrice) -> bytes:
    message = PriceMessage(type="price", **price)
    return orjson.dumps(message)


def publish(group: str, frame: bytes) -> int | None:
    """How many web processes received the frame; None when Redis is unreachable."""
    try:
        return int(
            get_redis_connection("default").publish(channel_prefix() + group, frame)
        )
    except RedisError:
        logger.warning("redis unavailable: live message to %s not published", group)
        return None


# Intervals with a live "forming candle" stream (`kline_<interval>`), built from prices.
KLINE_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d")

# Folds one price into the forming candle of its interval and publishes the candle, in one
# atomic step (several sync workers may publish at once). A price older than the candle's
# last one is ignored. The first price of the next bucket first publishes the finished
# candle once more with `is_closed: true` (as Binance's kline stream does), then opens the
# new one. Numbers are kept as the text Python wrote, so nothing is rounded.
# KEYS[1]: the candle's hash; ARGV: open_time, close_time, price, as_of (text), as_of
# (epoch ms), channel, symbol, interval, seconds to keep the hash.
FOLD_PRICE = """
local c = redis.call('HMGET', KEYS[1], 'open_time', 'open', 'high', 'low', 'as_of_ms',
  'frame')
local p = tonumber(ARGV[3])
local o, h, l = ARGV[3], ARGV[3], ARGV[3]
if c[1] == ARGV[1] then
  if tonumber(c[5]) > tonumber(ARGV[5]) then return 0 end
  o, h, l = c[2], c[3], c[4]
  if p > tonumber(h) then h = ARGV[3] end
  if p < tonumber(l) then l = ARGV[3] end
elseif c[1] and c[1] > ARGV[1] then
  return 0
elseif c[6] then
  local closed = string.gsub(c[6], '"is_closed":false', '"is_closed":true', 1)
  redis.call('PUBLISH', ARGV[6], closed)
end
local frame = '{"type":"kline","symbol":"' .. ARGV[7] .. '","interval":"' .. ARGV[8] ..
  '","open_time":"' .. ARGV[1] .. '","close_time":"' .. ARGV[2] .. '","open":' .. o ..
  ',"high":' .. h .. ',"low":' .. l .. ',"close":' .. ARGV[3] ..
  ',"volume":null,"is_closed":false,"as_of":"' .. ARGV[4] .. '"}'
redis.call('HSET', KEYS[1], 'open_time', ARGV[1], 'open', o, 'high', h, 'low', l,
  'as_of_ms', ARGV[5], 'frame', frame)
redis.call('EXPIRE', KEYS[1], ARGV[9])
return redis.call('PUBLISH', ARGV[6], frame)
"""


def kline_group(interval: str, symbol: str) -> str:
    return f"klines.{interval}.{symbol.upper()}"


def forming_key(interval: str, symbol: str) -> str:
    return f"{channel_prefix()}forming.{interval}.{symbol.upper()}"


def forming_candles(*, interval: str, symbols: list[str]) -> dict[str, str]:
    """The forming candle frames of `symbols` (those that have one), by symbol."""
    try:
        redis = get_redis_connection("default")
        pipe = redis.pipeline()
        for symbol in symbols:
            pipe.hget(forming_key(interval, symbol), "frame")
        frames = pipe.execute()
    except RedisError:
        return {}
    return {s: f.decode() for s, f in zip(symbols, frames, strict=True) if f}


def publish_price(price: LatestPrice) -> int | None:
    """Sends one price to every subscriber of its symbol, on every web process, and
    folds it into the symbol's forming candles; returns how many web processes listen
    (None when Redis is down: the price is stored, only the live push is lost)."""
    listeners = publish(price_group(price["symbol"]), price_frame(price))
    try:
        _fold_into_candles(price)
    except RedisError:
        logger.warning("redis unavailable: forming candles of %s not updated", price)
    return listeners


def _fold_into_candles(price: LatestPrice) -> None:
    as_of = datetime.fromisoformat(price["as_of"])
    redis = get_redis_connection("default")
    fold = redis.register_script(FOLD_PRICE)
    pipe = redis.pipeline(transaction=False)
    for interval in KLINE_INTERVALS:
        open_time = floor_time(as_of, interval)
        fold(
            keys=[forming_key(interval, price["symbol"])],
            args=[
                iso_z(open_time),
                iso_z(next_open(open_time, interval)),
                repr(float(price["price"])),
                price["as_of"],
                int(as_of.timestamp() * 1000),
                channel_prefix() + kline_group(interval, price["symbol"]),
                price["symbol"],
                interval,
                int(DURATIONS[interval].total_seconds()) * 2,
            ],
            client=pipe,
        )
    pipe.execute()


class AnomalyMessage(TypedDict):
    type: str  # "anomaly"
    symbol: str
    as_of: str  # the anomaly's time (consumers order frames of a symbol by it)
    anomaly: dict[str, Any]


def publish_anomaly(
    *, symbol: str, as_of: datetime, anomaly: dict[str, Any]
) -> int | None:
    """Sends one anomaly to the subscribers of `symbol`'s price stream (None when Redis
    is down)."""
    message = AnomalyMessage(
        type="anomaly", symbol=symbol.upper(), as_of=iso_z(as_of), anomaly=anomaly
    )
    return publish(price_group(symbol), orjson.dumps(message, option=orjson.OPT_UTC_Z))
