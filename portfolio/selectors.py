"""Reads: a user's portfolios and trades, and the figures computed from the trades."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, TypedDict

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from assets.models import Asset
from portfolio.ledger import (
    PRECISION,
    ZERO,
    Holding,
    money,
    pct,
    replay,
    unit_price,
)
from portfolio.models import Portfolio, Trade
from prices.latest import LatestPrice, latest_prices


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


class Position(TypedDict):
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    average_cost: Decimal | None
    price: Decimal | None
    price_as_of: str | None
    price_source: str | None
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    unrealized_pnl_pct: Decimal | None
    allocation_pct: Decimal | None
    realized_pnl: Decimal


class AssetPnl(TypedDict):
    symbol: str
    quantity: Decimal
    realized: Decimal
    unrealized: Decimal | None
    fees: Decimal


class Pnl(TypedDict):
    method: str
    currency: str
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    total: Decimal
    unpriced: list[str]
    by_asset: list[AssetPnl]


def positions_for(*, portfolio: Portfolio) -> list[Position]:
    """Open positions at the latest prices. A position without a known price has null
    market figures (and takes no share of the allocation)."""
    rows = [v for v in _valued(portfolio) if v.holding.quantity > 0]
    with localcontext(prec=PRECISION):
        total = sum((v.market_value for v in rows if v.market_value is not None), ZERO)
        out: list[Position] = []
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


def _opt(fn: Callable[[Decimal], Decimal], value: Decimal | None) -> Decimal | None:
    return None if value is None else fn(value)


def pnl_for(*, portfolio: Portfolio) -> Pnl:
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
