"""Assets: what MarketPulse tracks, with the latest listing figures from the providers."""

from django.db import models
from django.db.models.functions import Upper


class AssetClass(models.TextChoices):
    CRYPTO = "crypto", "Crypto"
    STABLECOIN = "stablecoin", "Stablecoin"
    STOCK = "stock", "Stock"
    FX = "fx", "Foreign exchange"
    INDEX = "index", "Index"


class AssetQuerySet(models.QuerySet["Asset"]):
    def tracked(self) -> "AssetQuerySet":
        return self.filter(is_tracked=True)


class Asset(models.Model):
    # Upper case always (symbols are case-insensitive in, upper case out).
    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    asset_class = models.CharField(
        max_length=12, choices=AssetClass.choices, default=AssetClass.CRYPTO
    )
    coingecko_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    coinmarketcap_id = models.PositiveIntegerField(unique=True, null=True, blank=True)
    binance_symbol = models.CharField(max_length=20, blank=True, default="")

    # Listing figures: market data, so double precision (DESIGN.md, Storage).
    rank = models.PositiveIntegerField(null=True, blank=True)
    price = models.FloatField(null=True, blank=True)
    market_cap = models.FloatField(null=True, blank=True)
    volume_24h = models.FloatField(null=True, blank=True)
    change_24h = models.FloatField(null=True, blank=True, help_text="Percent.")
    circulating_supply = models.FloatField(null=True, blank=True)
    total_supply = models.FloatField(null=True, blank=True)
    max_supply = models.FloatField(null=True, blank=True)
    price_source = models.CharField(max_length=20, blank=True, default="")
    price_as_of = models.DateTimeField(null=True, blank=True)

    is_tracked = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["rank", "symbol"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(symbol=Upper("symbol")), name="asset_symbol_upper"
            ),
            models.CheckConstraint(
                condition=models.Q(price__isnull=True) | models.Q(price__gte=0),
                name="asset_price_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["is_tracked", "rank"], name="asset_tracked_rank"),
            models.Index(fields=["-market_cap"], name="asset_market_cap"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.name})"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.symbol = self.symbol.upper()
        super().save(*args, **kwargs)
