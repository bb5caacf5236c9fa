from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from portfolio.models import Trade

        auditlog.register(Trade)
