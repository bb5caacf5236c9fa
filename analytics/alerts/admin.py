"""Alerts in the admin: rules and their state, firings, webhooks and their delivery log."""

from django.contrib import admin
from django.http import HttpRequest

from analytics.alerts import conditions
from analytics.alerts.models import Alert, AlertEvent, WebhookDelivery, WebhookEndpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    """Rules are written through the API (its checks); here they are seen and deleted."""

    list_display = ("id", "user", "description", "enabled", "armed", "fired_count",
                    "last_fired_at", "created_at")  # fmt: skip
    list_filter = ("kind", "enabled", "armed")
    list_select_related = ("user", "asset")
    search_fields = ("asset__symbol", "user__username", "note")

    @admin.display(description="condition")
    def description(self, alert: Alert) -> str:
        return conditions.describe(alert)


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnly):
    list_display = ("id", "user", "symbol", "message", "fired_at", "created_at")
    list_select_related = ("user",)
    search_fields = ("symbol", "user__username")


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "status", "attempts", "status_code", "error", "last_attempt_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ("-id",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "url", "enabled", "failures", "disabled_reason",
                    "last_success_at")  # fmt: skip
    list_filter = ("enabled",)
    fields = ("user", "url", "enabled", "failures", "disabled_reason", "disabled_at",
              "last_success_at")  # fmt: skip
    readonly_fields = ("user", "url", "failures", "disabled_reason", "disabled_at",
                       "last_success_at")  # fmt: skip
    inlines = [DeliveryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # owners create them through the API, which shows the secret once


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ("id", "endpoint", "event", "status", "attempts", "status_code",
                    "error", "last_attempt_at")  # fmt: skip
    list_filter = ("status",)
    list_select_related = ("endpoint", "event")
