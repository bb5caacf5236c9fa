"""Cache invalidation only (STYLE.md): a new daily market report makes cached market
overviews stale, as new prices and listings already do (they bump the listing version)."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from marketpulse.api import caching


@receiver(post_save, sender="analytics.MarketReport")
def market_report_saved(**kwargs: Any) -> None:
    caching.bump_versions([], listing=True)
