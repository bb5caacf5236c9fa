"""Trained forecast models (versioned), their walk-forward forecasts, training runs, and
users' predictions with what happened."""

from django.conf import settings
from django.db import models

from assets.models import Asset


class Horizon(models.TextChoices):
    H1 = "1h", "1 hour (1 x 1h candle)"
    H24 = "24h", "24 hours (24 x 1h candles)"
    D7 = "7d", "7 days (7 x 1d candles)"


class Family(models.TextChoices):
    NAIVE = "naive", "Naive (last close)"
    DRIFT = "drift", "Drift"
    SEASONAL_NAIVE = "seasonal_naive", "Seasonal naive"
    ARIMA = "arima", "ARIMA on log closes (statsmodels)"
    GBM = "gbm", "Gradient boosting on lagged returns and indicators (scikit-learn)"


class Bounds(models.Model):
    """The 80% and 95% interval bounds (null: no interval)."""

    lo80 = models.FloatField(null=True, blank=True)
    hi80 = models.FloatField(null=True, blank=True)
    lo95 = models.FloatField(null=True, blank=True)
    hi95 = models.FloatField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def intervals(self) -> dict[str, list[float]] | None:
        if self.lo80 is None or self.hi80 is None or self.lo95 is None:
            return None
        return {"80": [self.lo80, self.hi80], "95": [self.lo95, self.hi95]}  # type: ignore[list-item]


class TrainingRun(models.Model):
    """One training of models for some assets and horizons (scheduled or asked for)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default="queued")
    params = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.status})"


class ForecastModel(models.Model):
    """One trained version of a family for an asset and horizon, with its walk-forward
    figures and fitted artefact. `is_served` marks the best (naive included)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    horizon = models.CharField(max_length=4, choices=Horizon.choices)
    family = models.CharField(max_length=16, choices=Family.choices)
    version = models.PositiveIntegerField()
    run = models.ForeignKey(
        TrainingRun, null=True, blank=True, on_delete=models.SET_NULL
    )
    interval = models.CharField(max_length=3)
    parameters = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    trained_from = models.DateTimeField(help_text="Close of the first candle fitted.")
    trained_to = models.DateTimeField(help_text="Close of the last candle fitted.")
    metrics = models.JSONField(default=dict, blank=True)
    backtest = models.JSONField(default=dict, blank=True)  # step, origins, start, end
    conformal = models.JSONField(default=dict, blank=True)  # level -> |log residual|
    library_versions = models.JSONField(default=dict, blank=True)
    artefact = models.BinaryField(help_text="The fitted state, pickled.")
    is_served = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "horizon", "family", "version"],
                name="forecastmodel_unique_version",
            ),
            models.UniqueConstraint(
                fields=["asset", "horizon"],
                condition=models.Q(is_served=True),
                name="forecastmodel_one_served",
            ),
        ]
        indexes = [
            models.Index(
                fields=["asset", "horizon", "family", "-version"],
                name="forecastmodel_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.family} v{self.version} {self.asset_id} {self.horizon}"


class BacktestForecast(Bounds):
    """One walk-forward forecast of a model version: origin, forecast, what came."""

    model = models.ForeignKey(
        ForecastModel, on_delete=models.CASCADE, related_name="forecasts"
    )
    origin = models.DateTimeField(help_text="Close of the last candle seen.")
    target_time = models.DateTimeField()
    last_close = models.FloatField(help_text="The naive forecast.")
    price = models.FloatField()
    actual = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["model", "origin"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "origin"], name="backtestforecast_unique"
            )
        ]

    def __str__(self) -> str:
        return f"backtest forecast {self.model_id} at {self.origin:%Y-%m-%dT%H:%MZ}"


class Prediction(Bounds):
    """A forecast a user asked for, scored when its target time has passed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    horizon = models.CharField(max_length=4, choices=Horizon.choices)
    model = models.ForeignKey(
        ForecastModel, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    family = models.CharField(max_length=16, choices=Family.choices)
    model_version = models.PositiveIntegerField()
    made_at = models.DateTimeField()
    as_of = models.DateTimeField(help_text="Close of the last candle read.")
    target_time = models.DateTimeField()
    last_close = models.FloatField(help_text="The close at as_of: the naive forecast.")
    price = models.FloatField()
    actual = models.FloatField(null=True, blank=True)
    actual_source = models.CharField(max_length=40, blank=True, default="")
    scored_at = models.DateTimeField(null=True, blank=True)
    unscored_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-made_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-made_at"], name="prediction_user"),
            models.Index(
                fields=["target_time"],
                condition=models.Q(actual__isnull=True),
                name="prediction_due",
            ),
            models.Index(
                fields=["asset", "horizon", "family"], name="prediction_accuracy"
            ),
        ]

    def __str__(self) -> str:
        return f"prediction {self.pk} {self.asset_id} {self.horizon} {self.family}"

    @property
    def error(self) -> float | None:
        """actual - predicted price."""
        return None if self.actual is None else self.actual - self.price
