"""Portfolios and their trades. Money is numeric (Decimal), never float.

Positions, cost basis and P&L are not stored: they are computed from the trades on every
read (`portfolio/ledger.py`), so editing or deleting a past trade recomputes everything
after it by construction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.models import Asset

# numeric(38, 18): 18 decimals hold crypto quantities down to wei, 20 digits before the point.
# Money columns: numeric(38, 18) (DESIGN.md: money is Decimal).
MONEY_DIGITS, MONEY_DECIMALS = 38, 18


class CostBasisMethod(models.TextChoices):
    FIFO = "fifo", "First in, first out"
    AVERAGE = "average", "Average cost"


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class Portfolio(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios"
    )
    name = models.CharField(max_length=100)
    base_currency = models.CharField(max_length=10)
    cost_basis_method = models.CharField(
        max_length=10, choices=CostBasisMethod.choices, default=CostBasisMethod.FIFO
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Trade(models.Model):
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="trades"
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="trades")
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_DECIMALS
    )
    price = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_DECIMALS)
    fee = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_DECIMALS, default=0
    )
    # Trades apply in (executed_at, id) order: same-instant trades in the order recorded.
    executed_at = models.DateTimeField()
    note = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["executed_at", "id"]
        indexes = [
            models.Index(
                fields=["portfolio", "asset", "executed_at", "id"],
                name="trade_ledger_order",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_qty_pos"),
            models.CheckConstraint(condition=Q(price__gt=0), name="trade_price_pos"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="trade_fee_not_neg"),
            models.CheckConstraint(
                condition=Q(side__in=Side.values), name="trade_side_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.asset_id} @ {self.price}"

    def get_additional_data(self) -> dict[str, int]:
        """The owner, kept in each audit entry: the owner reads the trade's history
        (`GET /api/v1/audit/`), deleted trades included."""
        owner = (
            Portfolio.objects.filter(pk=self.portfolio_id)
            .values_list("owner_id", flat=True)
            .first()
        )
        return {} if owner is None else {"owner": owner}
