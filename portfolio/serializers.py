"""Portfolio API shapes. Money and quantities are Decimal in and JSON strings out."""

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.models import Asset
from assets.serializers import SymbolField
from marketpulse.api.params import QuerySerializer
from portfolio.models import MONEY_DECIMALS, MONEY_DIGITS, Portfolio, Trade
from portfolio.performance import PERFORMANCE_INTERVALS
from portfolio.services import allowed_currencies
from prices.intervals import TIME_PATTERN, time_pattern
from prices.serializers import AwareDateTimeField


def plain(value: Decimal) -> str:
    """`1.5`, not `1.500000000000000000` nor `1.5E+1`."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


class PlainDecimalField(serializers.DecimalField):
    def to_representation(self, value: Any) -> str:
        return plain(Decimal(value))


# Money in, as the schema states it: a plain decimal string (no sign, exponent or leading
# zeros), at most 20 whole digits and 18 decimals (MONEY).
_WHOLE = "[1-9][0-9]{0,19}"
_FRACTION = r"(\.[0-9]{1,18})?"
POSITIVE_MONEY = rf"^({_WHOLE}{_FRACTION}|0\.[0-9]{{0,17}}[1-9])$"
MONEY_OR_ZERO = rf"^(0|{_WHOLE}){_FRACTION}$"


class _MoneyField(PlainDecimalField):
    pattern = re.compile(MONEY_OR_ZERO)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not self.pattern.fullmatch(data):
            raise serializers.ValidationError(
                'A plain decimal string is required, like "1.5" (no sign, exponent '
                "or leading zeros; at most 18 decimals).",
                code="invalid",
            )
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": POSITIVE_MONEY})
class PositiveMoneyField(_MoneyField):
    """More than zero (quantities, prices)."""

    pattern = re.compile(POSITIVE_MONEY)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_OR_ZERO})
class MoneyOrZeroField(_MoneyField):
    """Zero or more (fees)."""


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
)
class Amount(serializers.Field):
    """A computed Decimal figure, out only: a string, or null when unknown."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return plain(value)


def _any_case(words: list[str]) -> str:
    """A pattern matching any of `words`, in any case (OpenAPI patterns have no flags)."""
    spelled = [
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in w)
        for w in words
    ]
    return f"^({'|'.join(spelled)})$"


class PortfolioSerializer(serializers.ModelSerializer):
    base_currency = serializers.RegexField(
        _any_case(allowed_currencies()),
        required=False,
        max_length=10,
        trim_whitespace=False,
        error_messages={
            "invalid": f"Prices are quoted in {', '.join(allowed_currencies())} only."
        },
        help_text="Case-insensitive; the quote currency is the only one.",
    )

    class Meta:
        model = Portfolio
        fields = [
            "id",
            "name",
            "base_currency",
            "cost_basis_method",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_base_currency(self, value: str) -> str:
        value = value.upper()
        if value not in allowed_currencies():
            raise serializers.ValidationError(
                f"Prices are quoted in {', '.join(allowed_currencies())} only."
            )
        return value

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A name is required.")
        return value.strip()


# When a trade may have happened, as written (services also refuse the future).
TRADE_TIME_PATTERN = time_pattern(years="19[0-9]{2}|2[0-9]{3}")


@extend_schema_field(
    {"type": "string", "format": "date-time", "pattern": TRADE_TIME_PATTERN}
)
class TradeTimeField(serializers.DateTimeField):
    """A trade's time, written as the schema says (RFC 3339 with a zone, from 1900)."""

    pattern = re.compile(TRADE_TIME_PATTERN)

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise serializers.ValidationError(
                "Not an RFC 3339 time with a zone, from 1900 "
                "(example: 2024-03-01T00:00:00Z).",
                code="invalid",
            )
        return super().to_internal_value(value)


class TradeSerializer(serializers.ModelSerializer):
    symbol = SymbolField(
        source="asset",
        slug_field="symbol",
        queryset=Asset.objects.all(),
        help_text="Case-insensitive in, upper case out.",
    )
    quantity = PositiveMoneyField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_DECIMALS,
        min_value=Decimal("1e-18"),
    )
    price = PositiveMoneyField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_DECIMALS,
        min_value=Decimal("1e-18"),
    )
    fee = MoneyOrZeroField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_DECIMALS,
        min_value=Decimal(0),
        required=False,
    )
    executed_at = TradeTimeField()

    class Meta:
        model = Trade
        fields = [
            "id",
            "symbol",
            "side",
            "quantity",
            "price",
            "fee",
            "executed_at",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class PositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = Amount()
    cost_basis = Amount(help_text="What the units held cost, buy fees included.")
    average_cost = Amount(allow_null=True)
    price = Amount(allow_null=True, help_text="Latest price; null when none is known.")
    price_as_of = serializers.CharField(allow_null=True)
    price_source = serializers.CharField(allow_null=True)
    market_value = Amount(allow_null=True)
    unrealized_pnl = Amount(allow_null=True)
    unrealized_pnl_pct = Amount(allow_null=True)
    allocation_pct = Amount(allow_null=True)
    realized_pnl = Amount()


class AssetPnlSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = Amount()
    realized = Amount()
    unrealized = Amount(allow_null=True)
    fees = Amount()


class PnlSerializer(serializers.Serializer):
    method = serializers.CharField()
    currency = serializers.CharField()
    realized = Amount(help_text="Net of all fees, by the portfolio's method.")
    unrealized = Amount(help_text="At the latest prices, priced positions only.")
    fees = Amount(help_text="All fees paid, buys and sells.")
    total = Amount()
    unpriced = serializers.ListField(
        child=serializers.CharField(), help_text="Held symbols without a known price."
    )
    by_asset = AssetPnlSerializer(many=True)


@extend_schema_field({"type": "string", "format": "date-time", "pattern": TIME_PATTERN})
class PerformanceQuerySerializer(QuerySerializer):
    interval = serializers.ChoiceField(choices=PERFORMANCE_INTERVALS, default="1d")
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["end is before start."]})
        return attrs


class PerformancePointSerializer(serializers.Serializer):
    time = serializers.CharField(help_text="The bucket's close: values are as of then.")
    value = Amount(allow_null=True)
    net_flow = Amount(help_text="Buys (with fees) minus sells (net of fees).")
    return_pct = Amount(allow_null=True)


class PricesUsedSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    candle_interval = serializers.CharField(allow_null=True)
    gaps = serializers.ListField(
        child=serializers.CharField(),
        help_text="Buckets without a candle, valued at the last earlier close.",
    )


class PerformanceSerializer(serializers.Serializer):
    interval = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    currency = serializers.CharField()
    time_weighted_return_pct = Amount(allow_null=True)
    points = PerformancePointSerializer(many=True)
    prices = PricesUsedSerializer(many=True)
