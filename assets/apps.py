from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AssetsConfig(AppConfig):
    name = "assets"

    def ready(self) -> None:
        from assets.models import Asset
        from assets.signals import asset_changed

        post_save.connect(asset_changed, sender=Asset, dispatch_uid="asset_cache")
        post_delete.connect(asset_changed, sender=Asset, dispatch_uid="asset_cache_del")

        from auditlog.registry import auditlog

        # Edits of what an asset is; the market figures syncs refresh every minute are
        # not edits and stay out of the audit log.
        auditlog.register(
            Asset,
            include_fields=[
                "symbol", "name", "asset_class", "coingecko_id", "coinmarketcap_id",
                "binance_symbol", "is_tracked",
            ],
        )  # fmt: skip
