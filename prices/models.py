"""OHLCV history: one row per asset, interval and open time."""

from django.db import models
from django.db.models import F, Q

from assets.models import Asset
from prices.intervals import Interval


class Candle(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="candles")
    interval = models.CharField(max_length=3, choices=Interval.choices)
    # Open time, aligned to the interval, so resampling to coarser intervals is exact.
    open_time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()
    source = models.CharField(max_length=20, default="", blank=True)

    class Meta:
        constraints = [
            # Also the index for "latest N of an asset and interval" (scanned backwards)
            # and for time-range scans.
            models.UniqueConstraint(
                fields=["asset", "interval", "open_time"],
                name="candle_unique_open_time",
            ),
            models.CheckConstraint(
                condition=Q(low__gt=0)
                & Q(low__lte=F("open"))
                & Q(low__lte=F("close"))
                & Q(high__gte=F("open"))
                & Q(high__gte=F("close"))
                & Q(volume__gte=0),
                name="candle_ohlc_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.interval} {self.open_time:%Y-%m-%dT%H:%MZ}"


class CandleRollup(models.Model):
    """Coarser candles derived from stored 1m candles, kept current by `upsert_candles`.

    A table of their own, so a derived 1h candle never meets a natively stored 1h candle of
    the same asset (both exist in the demo data: Binance 1m and Coinbase 1h for BTC).
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="rollups")
    interval = models.CharField(max_length=3, choices=Interval.choices)
    open_time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()
    # How many 1m candles the bucket was built from (fewer than its length = gaps).
    candles = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "interval", "open_time"],
                name="candlerollup_unique_open_time",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.asset_id} {self.interval} {self.open_time:%Y-%m-%dT%H:%MZ} (rollup)"
        )
