from django.contrib import admin

from assets.models import Asset


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "symbol", "name", "asset_class", "rank", "price", "market_cap", "volume_24h",
        "change_24h", "price_source", "price_as_of", "is_tracked",
    )  # fmt: skip
    list_filter = ("asset_class", "is_tracked", "price_source")
    list_editable = ("is_tracked",)
    search_fields = ("symbol", "name", "coingecko_id", "binance_symbol")
    ordering = ("rank", "symbol")
    readonly_fields = ("created_at", "updated_at")
