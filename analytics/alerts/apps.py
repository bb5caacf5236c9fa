from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts (rules, their firings, webhooks): an app of its own inside `analytics`, so
    its migrations are its own."""

    name = "analytics.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from analytics.alerts.models import ENGINE_STATE, Alert, WebhookEndpoint

        # The rule as its owner wrote it; the engine's own state (armed, firings) is
        # written by raw UPDATEs, which the log does not see, and left out of edits.
        auditlog.register(Alert, exclude_fields=[*ENGINE_STATE, "updated_at"])
        auditlog.register(WebhookEndpoint, exclude_fields=["secret"])
