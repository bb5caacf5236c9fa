from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.models import Asset
from assets.symbols import SYMBOL_PATTERN


@extend_schema_field({"type": "string", "pattern": SYMBOL_PATTERN})
class SymbolField(serializers.SlugRelatedField):
    """An asset by symbol, case-insensitive; anything unlike a symbol is simply unknown
    (and never reaches the database: PostgreSQL refuses NUL bytes with an error)."""

    def to_internal_value(self, data: Any) -> Asset:
        if not isinstance(data, str) or len(data) > 20 or "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:20])
        return super().to_internal_value(data.upper())


class AssetSerializer(serializers.ModelSerializer):
    """An asset with its latest price and 24h figures (`source`/`as_of` say how fresh)."""

    quote = serializers.SerializerMethodField()
    source = serializers.CharField(source="price_source")  # type: ignore[assignment]
    as_of = serializers.DateTimeField(source="price_as_of", allow_null=True)
    tracked = serializers.BooleanField(source="is_tracked")

    class Meta:
        model = Asset
        fields = [
            "symbol", "name", "asset_class", "rank", "price", "quote", "source",
            "as_of", "market_cap", "volume_24h", "change_24h", "circulating_supply",
            "total_supply", "max_supply", "tracked", "coingecko_id",
            "coinmarketcap_id",
        ]  # fmt: skip
        read_only_fields = fields

    def get_quote(self, asset: Asset) -> str:
        return settings.QUOTE_CURRENCY
