from django.conf import settings
from rest_framework import serializers

from assets.models import Asset


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
