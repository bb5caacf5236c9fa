from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PricesConfig(AppConfig):
    name = "prices"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from assets.models import Asset
        from marketpulse.metrics import register_scrape_collector
        from prices.latest import latest_price_ages
        from prices.models import ManualPrice
        from prices.signals import asset_changed

        register_scrape_collector(latest_price_ages)
        auditlog.register(ManualPrice)

        post_save.connect(asset_changed, sender=Asset, dispatch_uid="asset_latest")
        post_delete.connect(
            asset_changed, sender=Asset, dispatch_uid="asset_latest_del"
        )
