"""Reads for `/ws/replay/`: parameters, counts and keyset pages of stored candles.

A replay never loads its range: it reads pages of `REPLAY_PAGE` candles by open time
(keyset on the unique (asset, interval, open_time) index), so memory stays flat and the
first frame costs one small query whatever the range.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from assets.models import Asset
from marketpulse.errors import MarketPulseError
from prices.intervals import Interval, TimeError, next_open, parse_time
from prices.latest import iso_z
from prices.models import Candle

# Before any market data (prices/services.py EARLIEST_OPEN_TIME is later).
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)

CandleRow = tuple[datetime, float, float, float, float, float]


@dataclass
class ReplayParams:
    asset_id: int
    symbol: str
    interval: str
    start: datetime
    end: datetime
    speed: float  # candles per second


def parse_replay_time(value: str) -> datetime | None:
    """`prices.intervals.parse_time` for a query string or a message, or None."""
    try:
        return parse_time(value.replace(" ", "+"))  # "+" arrives as a space
    except TimeError:
        return None


def parse_speed(value: Any) -> float | None:
    try:
        speed = float(value)
    except (TypeError, ValueError):
        return None
    return speed if 0 < speed <= settings.WS_REPLAY_MAX_SPEED else None


def replay_params(query: dict[str, str]) -> ReplayParams:
    """Validates the query of `/ws/replay/`; raises `MarketPulseError` naming each bad field."""
    errors: dict[str, str] = {}
    symbol = query.get("symbol", "").strip().upper()
    asset = Asset.objects.filter(symbol=symbol).only("pk").first() if symbol else None
    if not symbol:
        errors["symbol"] = "required"
    elif asset is None:
        errors["symbol"] = f"unknown symbol {symbol!r}"
    interval = query.get("interval", "")
    if interval not in Interval.values:
        errors["interval"] = f"one of {', '.join(Interval.values)}"
    start, end = BEGINNING, datetime.now(UTC)
    for name in ("start", "end"):
        if name in query:
            moment = parse_replay_time(query[name])
            if moment is None:
                errors[name] = "an ISO 8601 time with a zone, e.g. 2024-03-01T00:00:00Z"
            elif name == "start":
                start = moment
            else:
                end = moment
    if "start" not in errors and "end" not in errors and end < start:
        errors["end"] = "must not be before start"
    speed = parse_speed(query.get("speed", settings.WS_REPLAY_DEFAULT_SPEED))
    if speed is None:
        errors["speed"] = (
            f"candles per second, above 0 and at most {settings.WS_REPLAY_MAX_SPEED}"
        )
    if errors or asset is None or speed is None:
        raise MarketPulseError(
            code="invalid_parameters",
            message="Bad replay parameters: " + "; ".join(errors),
            details=errors,
        )
    return ReplayParams(asset.pk, symbol, interval, start, end, speed)


def _range(params: ReplayParams):  # type: ignore[no-untyped-def]
    return Candle.objects.filter(
        asset_id=params.asset_id,
        interval=params.interval,
        open_time__gte=params.start,
        open_time__lt=params.end,
    )


def count_candles(*, params: ReplayParams, before: datetime | None = None) -> int:
    """Candles in the replay's range (opening before `before` when given)."""
    candles = _range(params)
    if before is not None:
        candles = candles.filter(open_time__lt=before)
    return candles.count()


def candle_page(
    *, params: ReplayParams, since: datetime, inclusive: bool, limit: int
) -> list[CandleRow]:
    """The next `limit` candles of the range from `since`, oldest first."""
    candles = _range(params)
    candles = (
        candles.filter(open_time__gte=since)
        if inclusive
        else candles.filter(open_time__gt=since)
    )
    return list(
        candles.order_by("open_time").values_list(
            "open_time", "open", "high", "low", "close", "volume"
        )[:limit]
    )


def candle_message(*, params: ReplayParams, seq: int, row: CandleRow) -> dict[str, Any]:
    open_time, o, h, low, c, v = row
    return {
        "type": "candle",
        "seq": seq,
        "symbol": params.symbol,
        "interval": params.interval,
        "open_time": iso_z(open_time),
        "close_time": iso_z(next_open(open_time, params.interval)),
        "open": o,
        "high": h,
        "low": low,
        "close": c,
        "volume": v,
        "is_closed": True,
    }
