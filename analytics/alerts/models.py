"""Alert rules, their firings and webhook delivery (issue 14).

An alert's API fields (kind, direction, level, percent, window, indicator...) are what its
owner wrote; the engine columns (`metric`, `op`, `threshold`, `rearm_threshold`) are the
same rule in one shape for every kind, derived by `conditions.engine_columns`, so one
indexed statement evaluates every alert of an asset (`evaluate.py`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.models import Asset


class AlertKind(models.TextChoices):
    PRICE = "price", "Price above or below a level"
    MOVE = "move", "Percent move within a window"
    INDICATOR = "indicator", "Indicator crosses a level on closed candles"
    ANOMALY = "anomaly", "An anomaly of the asset"


class Direction(models.TextChoices):
    ABOVE = "above"
    BELOW = "below"
    UP = "up"
    DOWN = "down"


class Channel(models.TextChoices):
    WEBHOOK = "webhook"
    EMAIL = "email"


# An alert's state, the engine's to change (analytics/alerts/evaluate.py).
ENGINE_STATE = ("armed", "state_at", "rearm_at", "last_fired_at", "fired_count")


class Alert(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    direction = models.CharField(
        max_length=5, choices=Direction.choices, blank=True, default=""
    )
    level = models.FloatField(null=True, blank=True)
    percent = models.FloatField(null=True, blank=True)
    window = models.CharField(max_length=3, blank=True, default="")
    indicator = models.CharField(max_length=40, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    output = models.CharField(max_length=40, blank=True, default="")
    interval = models.CharField(max_length=3, blank=True, default="")
    anomaly_kind = models.CharField(max_length=24, blank=True, default="")
    hysteresis = models.FloatField(default=0)
    cooldown = models.PositiveIntegerField(default=0, help_text="Seconds.")
    note = models.CharField(max_length=200, blank=True, default="")
    enabled = models.BooleanField(default=True)
    channels = models.JSONField(default=list, blank=True)

    # The engine's view of the rule (derived, never written by the API).
    metric = models.CharField(max_length=160)
    op = models.CharField(max_length=5)  # above | below | event
    threshold = models.FloatField(null=True)
    rearm_threshold = models.FloatField(null=True)
    # State: fires only while armed; `state_at` is the time of the price or candle of
    # the last transition, so an older (late, redelivered) one changes nothing.
    armed = models.BooleanField(default=True)
    state_at = models.DateTimeField(null=True, blank=True)
    rearm_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    fired_count = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The evaluation's three range scans: armed alerts whose level the value
            # reached, disarmed ones back beyond their re-arm level, expired cooldowns.
            models.Index(
                fields=["asset", "metric", "op", "threshold"],
                condition=Q(enabled=True, armed=True),
                name="alert_fire",
            ),
            models.Index(
                fields=["asset", "metric", "op", "rearm_threshold"],
                condition=Q(enabled=True, armed=False),
                name="alert_rearm",
            ),
            models.Index(
                fields=["asset", "metric", "rearm_at"],
                condition=Q(enabled=True, armed=False, rearm_at__isnull=False),
                name="alert_cooldown",
            ),
            # Which % move windows a price needs computing.
            models.Index(
                fields=["asset", "window"],
                condition=Q(enabled=True, kind="move"),
                name="alert_move_windows",
            ),
            models.Index(fields=["user", "-created_at"], name="alert_user"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.kind} {self.metric} {self.op} {self.threshold}"

    def get_additional_data(self) -> dict[str, int]:
        """The owner, kept in each audit entry: the owner reads the alert's history
        (`GET /api/v1/audit/`), deleted alerts included."""
        return {"owner": self.user_id}


class AlertEvent(models.Model):
    """One firing: stored once per (alert, trigger time), whoever evaluated it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_events"
    )
    symbol = models.CharField(max_length=20)
    fired_at = models.DateTimeField(help_text="Time of the price, candle or anomaly.")
    created_at = models.DateTimeField(auto_now_add=True)
    price = models.FloatField(null=True)
    value = models.FloatField(null=True, help_text="The condition's value then.")
    condition = models.JSONField(help_text="The alert's rule when it fired.")
    message = models.CharField(max_length=300)
    source = models.CharField(max_length=40, blank=True, default="")
    deliveries = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "fired_at"], name="alert_event_once"
            )
        ]
        indexes = [models.Index(fields=["user", "-id"], name="alert_event_user")]

    def __str__(self) -> str:
        return f"event {self.pk}: {self.message}"


class WebhookEndpoint(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80)
    enabled = models.BooleanField(default=True)
    # Consecutive failed attempts; ALERT_WEBHOOK_DISABLE_AFTER of them disable it.
    failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} {self.url}"

    def get_additional_data(self) -> dict[str, int]:
        return {"owner": self.user_id}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint: its attempts and the last answer."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        AlertEvent, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.status}"
