"""The ledger: replays trades in order into holdings, cost basis and realized P&L.

Pure functions over Decimals (no database), so the rules live in one place:
- a buy's fee is part of its cost basis; a sell's fee reduces its proceeds;
- realized P&L = net proceeds - cost basis of the units sold (FIFO lots, or the running
  average cost), so it is net of all fees;
- selling more than is held at that moment is an oversell.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Protocol

from portfolio.models import CostBasisMethod, Side

ZERO = Decimal(0)
# Intermediate results carry 60 significant digits; figures are rounded only on output.
PRECISION = 60
MONEY_PLACES = Decimal("1e-8")
PRICE_PLACES = Decimal("1e-12")
PCT_PLACES = Decimal("1e-4")


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def unit_price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    with localcontext(prec=PRECISION):
        return (part * 100 / whole).quantize(PCT_PLACES, rounding=ROUND_HALF_EVEN)


class TradeLike(Protocol):
    id: int
    asset_id: int
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal


class Oversell(Exception):
    def __init__(self, trade: TradeLike, held: Decimal) -> None:
        super().__init__(f"trade {trade.id} sells {trade.quantity}, {held} held")
        self.trade = trade
        self.held = held


@dataclass
class Holding:
    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO  # of the units still held, buy fees included
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    bought: Decimal = ZERO  # cash put in (buys with fees)
    sold: Decimal = ZERO  # cash taken out (sells net of fees)
    # FIFO only: [quantity left, cost left] per buy, oldest first.
    lots: deque[list[Decimal]] = field(default_factory=deque)

    @property
    def average_cost(self) -> Decimal | None:
        if self.quantity == 0:
            return None
        with localcontext(prec=PRECISION):
            return self.cost_basis / self.quantity

    def apply(self, trade: TradeLike, method: str) -> None:
        """Call within `localcontext(prec=PRECISION)` (as `replay` does)."""
        if trade.side == Side.BUY:
            self._buy(trade)
        else:
            self._sell(trade, method)

    def _buy(self, trade: TradeLike) -> None:
        cost = trade.quantity * trade.price + trade.fee
        self.quantity += trade.quantity
        self.cost_basis += cost
        self.fees += trade.fee
        self.bought += cost
        self.lots.append([trade.quantity, cost])

    def _sell(self, trade: TradeLike, method: str) -> None:
        if trade.quantity > self.quantity:
            raise Oversell(trade, self.quantity)
        proceeds = trade.quantity * trade.price - trade.fee
        if method == CostBasisMethod.AVERAGE:
            cost = self.cost_basis * trade.quantity / self.quantity
        else:
            cost = self._take_lots(trade.quantity)
        self.quantity -= trade.quantity
        # Selling everything leaves no cost behind (no rounding residue).
        self.cost_basis = ZERO if self.quantity == 0 else self.cost_basis - cost
        if self.quantity == 0:
            self.lots.clear()
        self.realized += proceeds - cost
        self.fees += trade.fee
        self.sold += proceeds

    def _take_lots(self, quantity: Decimal) -> Decimal:
        cost = ZERO
        while quantity > 0:
            lot = self.lots[0]
            if lot[0] <= quantity:
                cost += lot[1]
                quantity -= lot[0]
                self.lots.popleft()
            else:
                part = lot[1] * quantity / lot[0]
                lot[0] -= quantity
                lot[1] -= part
                cost += part
                quantity = ZERO
        return cost


def replay(trades: Iterable[TradeLike], *, method: str) -> dict[int, Holding]:
    """Holdings by asset id after `trades`, which must come in (executed_at, id) order.

    Raises `Oversell` at the first sell of more than is held."""
    holdings: dict[int, Holding] = {}
    with localcontext(prec=PRECISION):
        for trade in trades:
            holding = holdings.get(trade.asset_id)
            if holding is None:
                holding = holdings[trade.asset_id] = Holding()
            holding.apply(trade, method)
    return holdings
