"""Reads: a user's portfolios and trades, and the figures computed from the trades."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from assets.models import Asset
from marketpulse.errors import MarketPulseError
from portfolio.ledger import (
    PRECISION,
    ZERO,
    Holding,
    money,
    pct,
    replay,
    unit_price,
)
from portfolio.models import Portfolio, Side, Trade
from prices.intervals import DURATIONS, Interval, floor_time, next_open
from prices.latest import LatestPrice, iso_z, latest_prices
from prices.selectors import closes_for


def portfolios_for(*, user: Any) -> QuerySet[Portfolio]:
    return Portfolio.objects.filter(owner=user)


def portfolio_for(*, user: Any, pk: Any) -> Portfolio:
    """The user's portfolio, or 404 (also when it is someone else's: never 403)."""
    return get_object_or_404(portfolios_for(user=user), pk=pk)


def trades_for(*, portfolio: Portfolio) -> QuerySet[Trade]:
    return portfolio.trades.select_related("asset").order_by("executed_at", "id")


LEDGER_FIELDS = ("id", "asset_id", "side", "quantity", "price", "fee", "executed_at")


def ledger_rows(*, portfolio: Portfolio) -> list[Any]:
    """The trades as light named tuples, in ledger order (model instances cost ~3x)."""
    return list(
        portfolio.trades.order_by("executed_at", "id").values_list(
            *LEDGER_FIELDS, named=True
        )
    )


def holdings_for(*, portfolio: Portfolio) -> dict[Asset, Holding]:
    trades = ledger_rows(portfolio=portfolio)
    holdings = replay(trades, method=portfolio.cost_basis_method)
    assets = Asset.objects.in_bulk(list(holdings))
    return {assets[asset_id]: h for asset_id, h in holdings.items()}


def _price(latest: LatestPrice) -> Decimal:
    # The float's shortest repr: the price exactly as stored and shown elsewhere.
    return Decimal(repr(latest["price"]))


@dataclass
class Valued:
    asset: Asset
    holding: Holding
    latest: LatestPrice | None
    market_value: Decimal | None
    unrealized: Decimal | None


def _valued(portfolio: Portfolio) -> list[Valued]:
    holdings = holdings_for(portfolio=portfolio)
    symbols = sorted(a.symbol for a, h in holdings.items() if h.quantity > 0)
    prices = {p["symbol"]: p for p in latest_prices(symbols)[0]} if symbols else {}
    rows = []
    with localcontext(prec=PRECISION):
        for asset, holding in sorted(holdings.items(), key=lambda i: i[0].symbol):
            latest = prices.get(asset.symbol) if holding.quantity > 0 else None
            value = holding.quantity * _price(latest) if latest else None
            unrealized = value - holding.cost_basis if value is not None else None
            rows.append(Valued(asset, holding, latest, value, unrealized))
    return rows


def positions_for(*, portfolio: Portfolio) -> list[dict[str, Any]]:
    """Open positions at the latest prices. A position without a known price has null
    market figures (and takes no share of the allocation)."""
    rows = [v for v in _valued(portfolio) if v.holding.quantity > 0]
    with localcontext(prec=PRECISION):
        total = sum((v.market_value for v in rows if v.market_value is not None), ZERO)
        out = []
        for v in rows:
            h = v.holding
            avg = h.average_cost
            out.append(
                {
                    "symbol": v.asset.symbol,
                    "quantity": h.quantity,
                    "cost_basis": money(h.cost_basis),
                    "average_cost": unit_price(avg) if avg is not None else None,
                    "price": _price(v.latest) if v.latest else None,
                    "price_as_of": v.latest["as_of"] if v.latest else None,
                    "price_source": v.latest["source"] if v.latest else None,
                    "market_value": _opt(money, v.market_value),
                    "unrealized_pnl": _opt(money, v.unrealized),
                    "unrealized_pnl_pct": (
                        pct(v.unrealized, h.cost_basis)
                        if v.unrealized is not None
                        else None
                    ),
                    "allocation_pct": (
                        pct(v.market_value, total)
                        if v.market_value is not None
                        else None
                    ),
                    "realized_pnl": money(h.realized),
                }
            )
    return out


def _opt(fn: Any, value: Decimal | None) -> Decimal | None:
    return None if value is None else fn(value)


def pnl_for(*, portfolio: Portfolio) -> dict[str, Any]:
    """Realized (by the portfolio's method), unrealized (priced positions only; the
    others are listed in `unpriced`), all fees paid, and their total."""
    rows = _valued(portfolio)
    with localcontext(prec=PRECISION):
        realized = sum((v.holding.realized for v in rows), ZERO)
        unrealized = sum((v.unrealized for v in rows if v.unrealized is not None), ZERO)
        fees = sum((v.holding.fees for v in rows), ZERO)
        return {
            "method": portfolio.cost_basis_method,
            "currency": portfolio.base_currency,
            "realized": money(realized),
            "unrealized": money(unrealized),
            "fees": money(fees),
            "total": money(realized + unrealized),
            "unpriced": [
                v.asset.symbol
                for v in rows
                if v.holding.quantity > 0 and v.unrealized is None
            ],
            "by_asset": [
                {
                    "symbol": v.asset.symbol,
                    "quantity": v.holding.quantity,
                    "realized": money(v.holding.realized),
                    "unrealized": _opt(money, v.unrealized),
                    "fees": money(v.holding.fees),
                }
                for v in rows
            ],
        }


# --- Performance over time -------------------------------------------------------------

PERFORMANCE_INTERVALS = [Interval.H1, Interval.H4, Interval.D1, Interval.W1]
MAX_POINTS = 1000


def _closes(
    asset: Asset, interval: str, first: datetime, end: datetime
) -> tuple[dict[datetime, Decimal], Decimal | None, dict[str, Any]]:
    """Close of each bucket from `first` to `end`, the last close before `first`, and
    what was used, as money."""
    found = closes_for(asset_id=asset.pk, interval=interval, start=first, end=end)
    used: dict[str, Any] = {"symbol": asset.symbol, "candle_interval": found.interval}
    closes = {bucket: Decimal(repr(close)) for bucket, close in found.closes.items()}
    before = Decimal(repr(found.before)) if found.before is not None else None
    return closes, before, used


def performance_for(
    *, portfolio: Portfolio, interval: str, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """Value at each bucket close from stored candles, and the time-weighted return.

    Each bucket's return is (value + cash out) / (previous value + cash in) - 1: buys count
    as money put in at the bucket's start, sells as money taken out at its end, so trading
    itself is not performance. A bucket with no candle for a held asset carries the last
    close forward (listed in `prices[].gaps`); with no earlier close at all, its value is
    null and it is left out of the return.
    """
    trades = ledger_rows(portfolio=portfolio)
    end = end or datetime.now(UTC)
    if start is None:
        # Since the first trade, but no further back than the most points allowed.
        earliest = end - DURATIONS[interval] * (MAX_POINTS - 1)
        start = max(trades[0].executed_at, earliest) if trades else end
    first = floor_time(start, interval)
    buckets: list[datetime] = []
    bucket = first
    while bucket <= end and len(buckets) <= MAX_POINTS:
        buckets.append(bucket)
        bucket = next_open(bucket, interval)
    result: dict[str, Any] = {
        "interval": interval,
        "start": iso_z(first),
        "end": iso_z(end),
        "currency": portfolio.base_currency,
        "time_weighted_return_pct": None,
        "points": [],
        "prices": [],
    }
    if len(buckets) > MAX_POINTS:
        raise MarketPulseError(
            code="validation_error",
            message=f"At most {MAX_POINTS} points: narrow the range or widen the interval.",
            details={"start": [f"More than {MAX_POINTS} {interval} points to end."]},
        )
    if not buckets:
        return result
    stop = next_open(buckets[-1], interval)
    assets = Asset.objects.in_bulk({t.asset_id for t in trades})
    closes: dict[int, dict[datetime, Decimal]] = {}
    last: dict[int, Decimal | None] = {}
    for asset_id, asset in sorted(assets.items(), key=lambda i: i[1].symbol):
        closes[asset_id], last[asset_id], used = _closes(asset, interval, first, stop)
        used["gaps"] = []
        result["prices"].append(used)
    used_by_id = dict(
        zip(
            sorted(assets, key=lambda i: assets[i].symbol),
            result["prices"],
            strict=True,
        )
    )

    quantities: dict[int, Decimal] = {}
    index = 0
    with localcontext(prec=PRECISION):
        # Holdings and value just before the first bucket.
        while index < len(trades) and trades[index].executed_at < first:
            t = trades[index]
            sign = 1 if t.side == Side.BUY else -1
            quantities[t.asset_id] = (
                quantities.get(t.asset_id, ZERO) + sign * t.quantity
            )
            index += 1
        previous = _value(quantities, last)
        growth = Decimal(1)
        measured = False
        for bucket in buckets:
            close = next_open(bucket, interval)
            cash_in = cash_out = ZERO
            while index < len(trades) and trades[index].executed_at < close:
                t = trades[index]
                gross = t.quantity * t.price
                if t.side == Side.BUY:
                    cash_in += gross + t.fee
                    quantities[t.asset_id] = (
                        quantities.get(t.asset_id, ZERO) + t.quantity
                    )
                else:
                    cash_out += gross - t.fee
                    quantities[t.asset_id] -= t.quantity
                index += 1
            for asset_id in quantities:
                price = closes[asset_id].get(bucket)
                if price is not None:
                    last[asset_id] = price
                elif quantities[asset_id] > 0:
                    used_by_id[asset_id]["gaps"].append(iso_z(bucket))
            value = _value(quantities, last)
            period = None
            if value is not None and previous is not None:
                invested = previous + cash_in
                if invested > 0:
                    period = (value + cash_out) / invested - 1
                    growth *= 1 + period
                    measured = True
            result["points"].append(
                {
                    "time": iso_z(close),
                    "value": _opt(money, value),
                    "net_flow": money(cash_in - cash_out),
                    "return_pct": _opt(lambda r: pct(r, Decimal(1)), period),
                }
            )
            previous = value
        if measured:
            result["time_weighted_return_pct"] = pct(growth - 1, Decimal(1))
    return result


def _value(
    quantities: dict[int, Decimal], prices: dict[int, Decimal | None]
) -> Decimal | None:
    total = ZERO
    for asset_id, quantity in quantities.items():
        if quantity == 0:
            continue
        price = prices.get(asset_id)
        if price is None:
            return None
        total += quantity * price
    return total
