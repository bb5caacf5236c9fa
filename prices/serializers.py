"""Input checking for the price endpoints, and output shapes for the schema.

The hot paths build their JSON straight from `values_list` rows with orjson (a DRF
serializer per candle costs ~40x more); the output serializers here document that shape.
"""

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.symbols import SymbolListError, parse_symbols
from prices.intervals import Interval, TimeError, parse_time

MAX_CANDLES = 5000


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """A time as `prices.intervals.parse_time` reads it (ISO 8601 with a zone, in UTC)."""

    def to_internal_value(self, data: Any) -> datetime:
        try:
            return parse_time(str(data))
        except TimeError as exc:
            raise serializers.ValidationError(str(exc), code=exc.reason) from None

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class CandleQuerySerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=Interval.values, default=Interval.H1)
    start = AwareDateTimeField(
        required=False, help_text="Inclusive: candles opening at or after this time."
    )
    end = AwareDateTimeField(
        required=False, help_text="Exclusive: candles opening before this time."
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_CANDLES, default=1000)
    order = serializers.ChoiceField(choices=["asc", "desc"], default="asc")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        return attrs


class SymbolsQuerySerializer(serializers.Serializer):
    symbols = serializers.CharField(
        required=False,
        help_text="Comma-separated symbols, case-insensitive (at most 100).",
    )

    def validate_symbols(self, value: str) -> list[str]:
        try:
            return parse_symbols(value, limit=100)
        except SymbolListError as exc:
            raise serializers.ValidationError(str(exc)) from None


# Output shapes (documentation of what the views build directly).


class CandleSerializer(serializers.Serializer):
    open_time = serializers.DateTimeField()
    close_time = serializers.DateTimeField(help_text="Exclusive end of the candle.")
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.FloatField(help_text="Base-asset volume.")
    is_closed = serializers.BooleanField(
        help_text="False for the candle still forming."
    )


class GapSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="First missing open time.")
    end = serializers.DateTimeField(help_text="Open time of the next candle present.")


class CandlePageSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    interval = serializers.ChoiceField(choices=Interval.values)
    quote = serializers.CharField()
    stored_interval = serializers.CharField(
        allow_null=True,
        help_text="The stored interval the candles come from: the requested one when "
        "stored, else the finer one they were aggregated from. Null when nothing "
        "stored can answer exactly.",
    )
    order = serializers.ChoiceField(choices=["asc", "desc"])
    count = serializers.IntegerField()
    next = serializers.CharField(
        allow_null=True,
        help_text="Relative URL of the next page; null when there are no more candles.",
    )
    gaps = GapSerializer(many=True, help_text="Missing candles between those returned.")
    results = CandleSerializer(many=True)


class LatestPriceSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = serializers.FloatField()
    quote = serializers.CharField()
    as_of = serializers.DateTimeField()
    source = serializers.CharField()  # type: ignore[assignment]
    age_seconds = serializers.FloatField(help_text="Seconds between as_of and now.")


class LatestPriceListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = LatestPriceSerializer(many=True)
    missing = serializers.ListField(
        child=serializers.CharField(), help_text="Requested symbols without a price."
    )
