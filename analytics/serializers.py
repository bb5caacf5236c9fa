"""Query checking and documented shapes of the analytics endpoints.

The indicator endpoint builds its JSON directly (orjson); these serializers document it.
"""

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from analytics.indicators import MAX_INDICATORS
from analytics.indicators.calls import LABEL
from analytics.indicators.catalogue import catalogue, outputs_index
from analytics.models import Anomaly
from prices.intervals import Interval
from prices.serializers import AwareDateTimeField, GapSerializer


def indicator_list_pattern() -> str:
    """The names the endpoint knows (indicators, and outputs asked for alone), each
    with an optional `:label`, 1 to MAX_INDICATORS of them, comma-separated: the
    schema's `pattern`, checked as given."""
    names = sorted({*catalogue(), *outputs_index()}, key=lambda n: (-len(n), n))
    one = "(?:" + "|".join(names) + f")(?::{LABEL.pattern})?"
    return f"^{one}(?:,{one}){{0,{MAX_INDICATORS - 1}}}$"


INDICATOR_LIST = re.compile(indicator_list_pattern())


@extend_schema_field({"type": "string", "pattern": indicator_list_pattern()})
class IndicatorListField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not INDICATOR_LIST.fullmatch(text):
            names = text.split(",")
            if len(names) > MAX_INDICATORS:
                problem = f"At most {MAX_INDICATORS} indicators per request."
            else:
                unknown = next(
                    (n for n in names if not INDICATOR_LIST.fullmatch(n)), text
                )
                problem = (
                    f"Unknown indicator {unknown[:40]!r}; GET /api/v1/analytics/"
                    "indicators/ lists them (lower case, comma-separated, no spaces)."
                )
            raise serializers.ValidationError(problem)
        return text


class IndicatorQuerySerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=Interval.values, default=Interval.D1)
    indicators = IndicatorListField(
        help_text=f"Comma-separated indicator names (at most {MAX_INDICATORS}), or "
        "output names to get one output alone (`macd_hist`, `bb_upper`); "
        "`name:label` adds another instance (`sma,sma:slow`)."
    )
    start = AwareDateTimeField(
        required=False,
        help_text="Inclusive, aligned up to the interval. Default: 500 candles "
        "before end.",
    )
    end = AwareDateTimeField(
        required=False,
        help_text="Exclusive, aligned up to the interval. Default: now.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["integer", "real"])
    default = serializers.FloatField()
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    description = serializers.CharField()
    choices = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="Allowed integer values and their meaning (moving-average types).",
    )


class CatalogueEntrySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Use in `indicators=`.")
    talib_name = serializers.CharField(allow_null=True)
    group = serializers.CharField()
    display_name = serializers.CharField()
    inputs = serializers.ListField(child=serializers.CharField())
    parameters = ParameterSerializer(many=True)
    outputs = serializers.ListField(
        child=serializers.CharField(), help_text="Field names in the result rows."
    )
    flags = serializers.ListField(child=serializers.CharField())
    warmup = serializers.CharField(
        help_text="`finite`, `recursive` (fetches extra candles to converge) or "
        "`cumulative` (anchored at the range start)."
    )
    description = serializers.CharField(allow_null=True)


@extend_schema_serializer(many=False)  # the list action answers one object
class CatalogueSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limits = serializers.DictField(child=serializers.IntegerField())
    friendly_parameters = serializers.DictField(
        child=serializers.CharField(), help_text="Query key -> `indicator.parameter`."
    )
    results = CatalogueEntrySerializer(many=True)


class WarmupSerializer(serializers.Serializer):
    lookback = serializers.IntegerField(
        help_text="TA-Lib's lookback: earlier candles needed before a first value."
    )
    warmup = serializers.IntegerField(
        help_text="Earlier candles read: lookback plus the convergence margin."
    )
    available = serializers.IntegerField(
        help_text="Earlier candles stored and used (fewer when history starts later)."
    )
    anchored_at_start = serializers.BooleanField(
        help_text="Cumulative indicator started at the range start."
    )
    converged = serializers.BooleanField(
        help_text="Whether the whole warm-up was stored; if not, the values are a "
        "computation from the first stored candle."
    )
    null_rows = serializers.IntegerField(help_text="Leading rows that are null.")
    reason = serializers.CharField(allow_null=True)


@extend_schema_field(
    {
        "type": "object",
        "properties": {"open_time": {"type": "string", "format": "date-time"}},
        "required": ["open_time"],
        "additionalProperties": {
            "oneOf": [{"type": "number"}, {"type": "string"}],
            "nullable": True,
        },
        "example": {"open_time": "2019-10-01T00:00:00Z", "rsi": 41.7, "macd": -92.3},
    }
)
class IndicatorRowField(serializers.DictField):
    pass


class IndicatorResultSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    interval = serializers.CharField()
    quote = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    stored_interval = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    parameters = serializers.DictField(
        child=serializers.DictField(), help_text="Every parameter used, per indicator."
    )
    warmup = serializers.DictField(child=WarmupSerializer())
    gaps = GapSerializer(many=True)
    results = serializers.ListField(child=IndicatorRowField())


# --- Market overview -------------------------------------------------------------------


class MarketQuerySerializer(serializers.Serializer):
    top = serializers.IntegerField(
        min_value=1,
        max_value=50,
        default=5,
        help_text="Entries in dominance and movers.",
    )
    trend_days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="Days of the total-cap trend."
    )


class ProvenanceFields(serializers.Serializer):
    as_of = serializers.CharField(
        allow_null=True, help_text="ISO 8601 time the figure is as of."
    )
    source = serializers.CharField()  # type: ignore[assignment]


class TotalSerializer(ProvenanceFields):
    value = serializers.FloatField(allow_null=True)
    assets_counted = serializers.IntegerField()
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Tracked assets without the figure."
    )


class DominanceEntrySerializer(serializers.Serializer):
    symbol = serializers.CharField()
    market_cap = serializers.FloatField()
    share = serializers.FloatField(allow_null=True, help_text="Of the total cap, 0-1.")


class DominanceSerializer(ProvenanceFields):
    results = DominanceEntrySerializer(many=True)


class MoverSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    change_24h = serializers.FloatField(help_text="Percent.")
    price = serializers.FloatField(allow_null=True)
    price_as_of = serializers.DateTimeField(allow_null=True)
    price_source = serializers.CharField(allow_null=True)


class MoversSerializer(ProvenanceFields):
    results = MoverSerializer(many=True)


class BreadthSerializer(ProvenanceFields):
    advancing = serializers.IntegerField()
    declining = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    unknown = serializers.IntegerField(help_text="Tracked assets without a 24h change.")


class SupplyEntrySerializer(ProvenanceFields):
    symbol = serializers.CharField()
    circulating_supply = serializers.FloatField()


class SupplySerializer(serializers.Serializer):
    results = SupplyEntrySerializer(many=True)


class TrendPointSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    market_cap = serializers.FloatField()
    assets = serializers.IntegerField()
    complete = serializers.BooleanField(
        help_text="Whether every included asset has a candle that day."
    )


class ExcludedSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    reason = serializers.CharField()


class TrendSerializer(ProvenanceFields):
    interval = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    points = TrendPointSerializer(many=True)
    included = serializers.ListField(child=serializers.CharField())
    excluded = ExcludedSerializer(many=True)


class ReportSerializer(serializers.Serializer):
    day = serializers.DateField()
    created_at = serializers.DateTimeField()
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="The sync pipeline's daily market report."
    )


@extend_schema_serializer(many=False)  # the list action answers one object
class MarketOverviewSerializer(serializers.Serializer):
    quote = serializers.CharField()
    assets = serializers.IntegerField(help_text="Tracked assets.")
    total_market_cap = TotalSerializer()
    total_volume_24h = TotalSerializer()
    dominance = DominanceSerializer()
    gainers = MoversSerializer()
    losers = MoversSerializer()
    breadth = BreadthSerializer()
    supply = SupplySerializer()
    trend = TrendSerializer()
    report = ReportSerializer(allow_null=True)


# --- Anomalies -------------------------------------------------------------------------


class AnomalySerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="asset.symbol")
    interval = serializers.CharField(
        allow_null=True, help_text="Candle interval checked."
    )
    window = serializers.CharField(allow_null=True, help_text="Trailing window.")
    detail = serializers.DictField()

    class Meta:
        model = Anomaly
        fields = ["id", "symbol", "time", "kind", "interval", "window", "value", "score",
                  "threshold", "detail", "created_at"]  # fmt: skip

    def to_representation(self, instance):  # type: ignore[no-untyped-def]
        data = super().to_representation(instance)
        data["interval"] = data["interval"] or None
        data["window"] = data["window"] or None
        return data
