"""The daily market report: a summary of the stored listings, kept for the dashboard."""

from datetime import date
from typing import Any

from django.conf import settings

from analytics.models import MarketReport
from assets.models import Asset


def _brief(asset: Asset) -> dict[str, Any]:
    return {
        "symbol": asset.symbol,
        "price": asset.price,
        "change_24h": asset.change_24h,
        "source": asset.price_source,
    }


def record_market_report(*, day: date) -> MarketReport:
    """Writes (or rewrites) the report of `day` from the tracked assets' listings."""
    assets = list(Asset.objects.tracked().filter(price__isnull=False))
    movers = sorted(
        (a for a in assets if a.change_24h is not None),
        key=lambda a: a.change_24h or 0.0,
    )
    data = {
        "assets": len(assets),
        "quote": settings.QUOTE_CURRENCY,
        "total_market_cap": sum(a.market_cap or 0.0 for a in assets),
        "total_volume_24h": sum(a.volume_24h or 0.0 for a in assets),
        "gainers": [_brief(a) for a in reversed(movers[-5:])],
        "losers": [_brief(a) for a in movers[:5]],
        "sources": sorted({a.price_source for a in assets}),
    }
    report, _ = MarketReport.objects.update_or_create(day=day, defaults={"data": data})
    return report


def latest_market_report() -> dict[str, Any] | None:
    """The newest daily market report (None before the first)."""
    found = MarketReport.objects.values("day", "created_at", "data").first()
    return dict(found) if found is not None else None
