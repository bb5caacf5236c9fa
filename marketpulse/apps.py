from django.apps import AppConfig


class MarketpulseConfig(AppConfig):
    name = "marketpulse"

    def ready(self) -> None:
        from marketpulse import checks  # noqa: F401  (registers the settings checks)
