from django.apps import AppConfig


class IngestConfig(AppConfig):
    """The ingest wing of `prices` (providers, the sync pipeline, its schedule and API):
    an app of its own, without models, so its tasks, admin and commands are found."""

    name = "prices.ingest"
    label = "prices_ingest"
    verbose_name = "Price ingest"

    def ready(self) -> None:
        from prices.ingest import checks  # noqa: F401  (registers the settings checks)
