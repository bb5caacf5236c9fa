from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics import checks, signals  # noqa: F401 (registers checks, receivers)
