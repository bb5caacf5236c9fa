"""Writes to portfolios and trades. Every trade write goes through here.

Each trade write locks its portfolio row, writes, then replays the asset's trades: if any
sell would then exceed the quantity held at its time, the write is refused (409) and rolled
back. The lock serializes writers of one portfolio, so two concurrent sells cannot both see
the same holdings.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Sum, When, Window
from rest_framework import status

from assets.models import Asset
from marketpulse.errors import MarketPulseError
from portfolio.models import Portfolio, Side, Trade

# Clocks differ a little between clients and us.
FUTURE_TOLERANCE = timedelta(minutes=1)
# Older dates are typos (year 239), and would not even print as ISO 8601 (4-digit years).
EARLIEST_TRADE = datetime(1900, 1, 1, tzinfo=UTC)


def create_portfolio(
    *, owner: Any, name: str, base_currency: str, cost_basis_method: str
) -> Portfolio:
    return Portfolio.objects.create(
        owner=owner,
        name=name,
        base_currency=base_currency,
        cost_basis_method=cost_basis_method,
    )


def update_portfolio(*, portfolio: Portfolio, **changes: Any) -> Portfolio:
    """Changing the method is allowed: figures are computed from the trades on read."""
    for name, value in changes.items():
        setattr(portfolio, name, value)
    portfolio.save()
    return portfolio


def delete_portfolio(*, portfolio: Portfolio) -> None:
    portfolio.delete()


def _check_executed_at(executed_at: datetime) -> None:
    problem = None
    if executed_at > datetime.now(UTC) + FUTURE_TOLERANCE:
        problem = "A trade cannot be in the future."
    elif executed_at < EARLIEST_TRADE:
        problem = "A trade cannot be before 1900."
    if problem:
        raise MarketPulseError(
            code="validation_error",
            message="The request has invalid fields; see details.",
            details={"executed_at": [problem]},
        )


def _lock(portfolio: Portfolio) -> None:
    Portfolio.objects.select_for_update().filter(pk=portfolio.pk).first()


def _check_holdings(*, portfolio: Portfolio, asset_ids: set[int]) -> None:
    """Raises 409 `oversell` if, after a write, any sell exceeds what was held then.

    A running sum in SQL (one index scan) rather than a replay in Python: ~10x faster on
    long ledgers, and the same rule as `ledger.replay`.
    """
    signed = Case(When(side=Side.BUY, then=F("quantity")), default=-F("quantity"))
    oversold = (
        Trade.objects.filter(portfolio=portfolio, asset_id__in=asset_ids)
        .annotate(
            held_after=Window(
                Sum(signed),
                partition_by=[F("asset_id")],
                order_by=[F("executed_at").asc(), F("id").asc()],
            )
        )
        .filter(held_after__lt=0)
        .select_related("asset")
        .order_by("executed_at", "id")
        .first()
    )
    if oversold is None:
        return
    held = oversold.held_after + oversold.quantity
    symbol = oversold.asset.symbol
    when = oversold.executed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise MarketPulseError(
        code="oversell",
        message=(
            f"Selling {oversold.quantity:f} {symbol} at {when} exceeds the {held:f} "
            "held then."
        ),
        status=status.HTTP_409_CONFLICT,
        details={
            "symbol": symbol,
            "executed_at": when,
            "quantity": f"{oversold.quantity:f}",
            "held": f"{held:f}",
        },
    )


def record_trade(
    *,
    portfolio: Portfolio,
    asset: Asset,
    side: str,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal = Decimal(0),
    executed_at: datetime,
    note: str = "",
) -> Trade:
    """Records a buy or sell; an oversell at any point in time is 409 and changes nothing."""
    _check_executed_at(executed_at)
    with transaction.atomic():
        _lock(portfolio)
        trade = Trade.objects.create(
            portfolio=portfolio,
            asset=asset,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            executed_at=executed_at,
            note=note,
        )
        _check_holdings(portfolio=portfolio, asset_ids={asset.pk})
    return trade


def update_trade(*, trade: Trade, **changes: Any) -> Trade:
    """Edits a trade; every later figure follows. If the edit turns any later sell into
    an oversell, it is 409 and changes nothing."""
    if "executed_at" in changes:
        _check_executed_at(changes["executed_at"])
    with transaction.atomic():
        _lock(trade.portfolio)
        trade = Trade.objects.select_related("portfolio").get(pk=trade.pk)
        old_asset_id = trade.asset_id
        for name, value in changes.items():
            setattr(trade, name, value)
        trade.save()
        _check_holdings(
            portfolio=trade.portfolio, asset_ids={old_asset_id, trade.asset_id}
        )
    return trade


def delete_trade(*, trade: Trade) -> None:
    """Deletes a trade; 409 if a later sell would then exceed what was held."""
    with transaction.atomic():
        _lock(trade.portfolio)
        trade.delete()
        _check_holdings(portfolio=trade.portfolio, asset_ids={trade.asset_id})


def allowed_currencies() -> list[str]:
    """Prices are quoted in one currency; without FX data, portfolios use that one."""
    return [settings.QUOTE_CURRENCY]
