from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts (rules, their firings, webhooks): an app of its own inside `analytics`, so
    its migrations are its own."""

    name = "analytics.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from analytics.alerts.models import Alert, WebhookEndpoint

        auditlog.register(Alert)
        auditlog.register(WebhookEndpoint, exclude_fields=["secret"])
