"""OHLCV history: one row per asset, interval and open time."""

from django.conf import settings
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


class SyncJob(models.TextChoices):
    PRICES = "prices", "Latest prices and listings (top N)"
    CANDLES = "candles", "Recent candles (top N)"
    BACKFILL = "backfill", "Backfill one asset's history"
    CLEANUP = "cleanup", "Delete fine candles past retention"
    REPORT = "report", "Daily market report"


class SyncRun(models.Model):
    """One run of a sync job: what it asked, which provider served it, what it wrote."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # Another run of the same job held the lock; this one wrote nothing.
        SKIPPED = "skipped"

    job = models.CharField(max_length=20, choices=SyncJob.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default="queued")
    provider = models.CharField(max_length=20, blank=True, default="")
    providers_tried = models.JSONField(default=list, blank=True)
    fallback_used = models.BooleanField(default=False)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejected_reasons = models.JSONField(default=dict, blank=True)
    # Job-specific results: deleted rows, gaps found, per-asset outcomes.
    details = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["job", "-queued_at"], name="syncrun_job_time")]

    def __str__(self) -> str:
        return f"{self.job} #{self.pk} {self.status}"


class CandleGap(models.Model):
    """Missing candles of one asset and interval: [start, end) holds `missing` of them."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="gaps")
    interval = models.CharField(max_length=3, choices=Interval.choices)
    start = models.DateTimeField(help_text="Open time of the first missing candle.")
    end = models.DateTimeField(help_text="Open time of the next present candle.")
    missing = models.PositiveIntegerField()
    detected_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset", "interval", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "interval", "start"], name="gap_unique_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.interval} {self.start:%Y-%m-%dT%H:%MZ} x{self.missing}"


class ManualPrice(models.Model):
    """A price an operator recorded by hand (for assets no provider covers, or a
    correction): stored and published like a provider's, with source "manual"."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="manual_prices"
    )
    price = models.FloatField()
    as_of = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    note = models.CharField(max_length=200, blank=True, default="")
    # False when a newer price was already stored: kept as a record, not published.
    applied = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"manual {self.asset_id} {self.price} @ {self.as_of:%Y-%m-%dT%H:%M:%SZ}"
