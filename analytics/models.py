"""Anomalies found in stored market data (issue 13)."""

from django.db import models

from assets.models import Asset


class AnomalyKind(models.TextChoices):
    RETURN = "return", "Close-to-close return"
    INTRADAY = "intraday", "Intraday low/high against the previous close"
    VOLUME = "volume", "Volume spike"
    PROVIDER_DISAGREEMENT = "provider_disagreement", "Providers disagree on the price"


class Anomaly(models.Model):
    """One unusual candle (or price) of an asset, scored against a trailing window.

    Unique per (asset, kind, interval, window, time), so checking the same candles again
    records nothing new."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="anomalies")
    time = models.DateTimeField(help_text="Open time of the candle, or the price time.")
    kind = models.CharField(max_length=24, choices=AnomalyKind.choices)
    interval = models.CharField(
        max_length=3, blank=True, default="", help_text="Candle interval checked."
    )
    window = models.CharField(
        max_length=8, blank=True, default="", help_text="Trailing baseline window."
    )
    value = models.FloatField(help_text="Log return, log volume, or relative gap.")
    score = models.FloatField(help_text="Robust z-score (or percent for disagreement).")
    threshold = models.FloatField()
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "kind", "interval", "window", "time"],
                name="anomaly_unique",
            )
        ]
        indexes = [
            models.Index(fields=["asset", "-time"], name="anomaly_asset_time"),
            models.Index(fields=["kind", "-time"], name="anomaly_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.asset_id} {self.time:%Y-%m-%dT%H:%MZ} z={self.score:.1f}"


class MarketReport(models.Model):
    """The daily market summary the dashboard shows (figures as of `created_at`).

    Written by the sync pipeline's `report` job; the table keeps its first name."""

    day = models.DateField(unique=True)
    created_at = models.DateTimeField(auto_now=True)
    data = models.JSONField()

    class Meta:
        ordering = ["-day"]
        db_table = "prices_marketreport"

    def __str__(self) -> str:
        return f"market report {self.day}"
