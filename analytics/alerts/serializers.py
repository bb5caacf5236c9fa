"""Alert API shapes. Per-kind rules are checked by `conditions.check_rule` (via the
services), so the API and the admin refuse the same things."""

from rest_framework import serializers

from analytics.alerts import conditions
from analytics.alerts.delivery import event_payload
from analytics.alerts.models import (
    Alert,
    AlertEvent,
    AlertKind,
    Channel,
    Direction,
    WebhookDelivery,
    WebhookEndpoint,
)
from analytics.models import AnomalyKind
from assets.models import Asset
from assets.serializers import SymbolField


class AlertSerializer(serializers.ModelSerializer):
    symbol = SymbolField(
        source="asset", queryset=Asset.objects.all(), slug_field="symbol"
    )
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, allow_blank=True,
        help_text="price, indicator: above | below; move: up | down.",
    )  # fmt: skip
    level = serializers.FloatField(
        required=False, allow_null=True,
        help_text="price: a positive level; indicator: the level it crosses.",
    )  # fmt: skip
    percent = serializers.FloatField(
        required=False, allow_null=True, help_text="move: percent, e.g. 5 for 5%."
    )
    window = serializers.ChoiceField(
        choices=conditions.MOVE_WINDOWS, required=False, allow_blank=True,
        help_text="move: the window the percent is measured over.",
    )  # fmt: skip
    indicator = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="indicator: a name of GET /api/v1/analytics/indicators/, e.g. rsi.",
    )  # fmt: skip
    params = serializers.DictField(
        required=False, help_text='indicator: its parameters, e.g. {"timeperiod": 14}.'
    )
    output = serializers.CharField(
        required=False, allow_blank=True, max_length=40,
        help_text="indicator: which output (e.g. macd_hist); optional when it has one.",
    )  # fmt: skip
    interval = serializers.ChoiceField(
        choices=conditions.INDICATOR_INTERVALS, required=False, allow_blank=True,
        help_text="indicator: the interval of the closed candles it is computed on.",
    )  # fmt: skip
    anomaly_kind = serializers.ChoiceField(
        choices=AnomalyKind.choices, required=False, allow_blank=True,
        help_text="anomaly: which kind (empty: any).",
    )  # fmt: skip
    hysteresis = serializers.FloatField(
        required=False, min_value=0,
        help_text="How far back across the level before it re-arms (its units).",
    )  # fmt: skip
    cooldown = serializers.IntegerField(
        required=False, min_value=0, max_value=conditions.MAX_COOLDOWN,
        help_text="Seconds after firing when it re-arms even if still true (0: never).",
    )  # fmt: skip
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False,
        help_text="Besides the WebSocket (always): webhook, email.",
    )  # fmt: skip
    description = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id", "symbol", "kind", "direction", "level", "percent", "window",
            "indicator", "params", "output", "interval", "anomaly_kind", "hysteresis",
            "cooldown", "note", "enabled", "channels", "description", "armed",
            "last_fired_at", "fired_count", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "armed", "last_fired_at", "fired_count", "created_at", "updated_at",
        ]  # fmt: skip

    def get_description(self, alert: Alert) -> str:
        return conditions.describe(alert)


class DeliverySerializer(serializers.ModelSerializer):
    endpoint_url = serializers.CharField(source="endpoint.url")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "endpoint_url", "event", "status", "attempts",
            "status_code", "error", "created_at", "last_attempt_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlertEventSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()
    webhooks = DeliverySerializer(source="webhook_deliveries", many=True)

    class Meta:
        model = AlertEvent
        fields = [
            "id", "alert", "symbol", "kind", "fired_at", "price", "value", "message",
            "condition", "source", "deliveries", "webhooks", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_kind(self, event: AlertEvent) -> str:
        return str(event_payload(event)["kind"])


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "enabled", "failures", "disabled_reason", "disabled_at",
            "last_success_at", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "failures", "disabled_reason", "disabled_at", "last_success_at", "created_at",
        ]  # fmt: skip


class WebhookWithSecretSerializer(WebhookSerializer):
    """Shown once, on creation and on rotation: the secret that signs the POSTs."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
