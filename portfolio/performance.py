"""A portfolio's value over time from stored candles, and its time-weighted return.

Each bucket's return is (value + cash out) / (previous value + cash in) - 1: buys count as
money put in at the bucket's start, sells as money taken out at its end, so trading itself
is not performance. A bucket with no candle for a held asset carries the last close
forward (listed in `prices[].gaps`); with no earlier close at all, its value is null and
it is left out of the return.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any, TypedDict

from assets.models import Asset
from marketpulse.errors import MarketPulseError
from portfolio.ledger import PRECISION, ZERO, money, pct
from portfolio.models import Portfolio, Side
from portfolio.selectors import ledger_rows
from prices.intervals import DURATIONS, Interval, floor_time, next_open
from prices.latest import iso_z
from prices.selectors import closes_for

PERFORMANCE_INTERVALS = [Interval.H1, Interval.H4, Interval.D1, Interval.W1]
MAX_POINTS = 1000


class Point(TypedDict):
    time: str  # the bucket's close
    value: Decimal | None
    net_flow: Decimal
    return_pct: Decimal | None


class PricesUsed(TypedDict):
    symbol: str
    candle_interval: str | None  # the stored interval the closes come from
    gaps: list[str]  # buckets where a held asset's last close was carried forward


class Performance(TypedDict):
    interval: str
    start: str
    end: str
    currency: str
    time_weighted_return_pct: Decimal | None
    points: list[Point]
    prices: list[PricesUsed]


def performance_for(
    *, portfolio: Portfolio, interval: str, start: datetime | None, end: datetime | None
) -> Performance:
    """Value at each bucket close and the time-weighted return (module docstring)."""
    trades = ledger_rows(portfolio=portfolio)
    end = end or datetime.now(UTC)
    buckets = _buckets(trades, interval, start, end)
    result = Performance(
        interval=interval,
        start=iso_z(buckets[0] if buckets else floor_time(start or end, interval)),
        end=iso_z(end),
        currency=portfolio.base_currency,
        time_weighted_return_pct=None,
        points=[],
        prices=[],
    )
    if not buckets:
        return result
    closes = _closes_of_held_assets(trades, interval, buckets)
    result["prices"] = [c.used for c in closes.values()]
    with localcontext(prec=PRECISION):
        result["points"], result["time_weighted_return_pct"] = _walk(
            trades, interval, buckets, closes
        )
    return result


def _buckets(
    trades: list[Any], interval: str, start: datetime | None, end: datetime
) -> list[datetime]:
    """Open times of the buckets from `start` (default: the first trade, at most
    MAX_POINTS back) to `end`; more than MAX_POINTS is a 400 naming `start`."""
    if start is None:
        earliest = end - DURATIONS[interval] * (MAX_POINTS - 1)
        start = max(trades[0].executed_at, earliest) if trades else end
    buckets: list[datetime] = []
    bucket = floor_time(start, interval)
    while bucket <= end and len(buckets) <= MAX_POINTS:
        buckets.append(bucket)
        bucket = next_open(bucket, interval)
    if len(buckets) > MAX_POINTS:
        raise MarketPulseError(
            code="validation_error",
            message=f"At most {MAX_POINTS} points: narrow the range or widen the interval.",
            details={"start": [f"More than {MAX_POINTS} {interval} points to end."]},
        )
    return buckets


@dataclass
class AssetCloses:
    """One asset's bucket closes as money, and the close last seen while walking."""

    closes: dict[datetime, Decimal]
    last: Decimal | None
    used: PricesUsed = field(repr=False)


def _closes_of_held_assets(
    trades: list[Any], interval: str, buckets: list[datetime]
) -> dict[int, AssetCloses]:
    """The closes of every traded asset over the buckets, in symbol order."""
    stop = next_open(buckets[-1], interval)
    assets = Asset.objects.in_bulk({t.asset_id for t in trades})
    found: dict[int, AssetCloses] = {}
    for asset_id, asset in sorted(assets.items(), key=lambda item: item[1].symbol):
        read = closes_for(
            asset_id=asset_id, interval=interval, start=buckets[0], end=stop
        )
        found[asset_id] = AssetCloses(
            closes={b: Decimal(repr(c)) for b, c in read.closes.items()},
            last=Decimal(repr(read.before)) if read.before is not None else None,
            used=PricesUsed(
                symbol=asset.symbol, candle_interval=read.interval, gaps=[]
            ),
        )
    return found


def _walk(
    trades: list[Any],
    interval: str,
    buckets: list[datetime],
    closes: dict[int, AssetCloses],
) -> tuple[list[Point], Decimal | None]:
    """Replays the trades bucket by bucket: each bucket's value, flows and return,
    and the compounded return over the buckets that could be measured."""
    quantities: dict[int, Decimal] = {}
    index = 0
    # Holdings and value just before the first bucket.
    while index < len(trades) and trades[index].executed_at < buckets[0]:
        t = trades[index]
        sign = 1 if t.side == Side.BUY else -1
        quantities[t.asset_id] = quantities.get(t.asset_id, ZERO) + sign * t.quantity
        index += 1
    previous = _value(quantities, closes)
    growth, measured = Decimal(1), False
    points: list[Point] = []
    for bucket in buckets:
        close = next_open(bucket, interval)
        cash_in = cash_out = ZERO
        while index < len(trades) and trades[index].executed_at < close:
            t = trades[index]
            gross = t.quantity * t.price
            if t.side == Side.BUY:
                cash_in += gross + t.fee
                quantities[t.asset_id] = quantities.get(t.asset_id, ZERO) + t.quantity
            else:
                cash_out += gross - t.fee
                quantities[t.asset_id] -= t.quantity
            index += 1
        for asset_id, quantity in quantities.items():
            price = closes[asset_id].closes.get(bucket)
            if price is not None:
                closes[asset_id].last = price
            elif quantity > 0:
                closes[asset_id].used["gaps"].append(iso_z(bucket))
        value = _value(quantities, closes)
        period = None
        if value is not None and previous is not None:
            invested = previous + cash_in
            if invested > 0:
                period = (value + cash_out) / invested - 1
                growth *= 1 + period
                measured = True
        points.append(
            Point(
                time=iso_z(close),
                value=money(value) if value is not None else None,
                net_flow=money(cash_in - cash_out),
                return_pct=pct(period, Decimal(1)) if period is not None else None,
            )
        )
        previous = value
    return points, (pct(growth - 1, Decimal(1)) if measured else None)


def _value(
    quantities: dict[int, Decimal], closes: dict[int, AssetCloses]
) -> Decimal | None:
    """The holdings at the last known closes; None when a held asset has none yet."""
    total = ZERO
    for asset_id, quantity in quantities.items():
        if quantity == 0:
            continue
        price = closes[asset_id].last
        if price is None:
            return None
        total += quantity * price
    return total
