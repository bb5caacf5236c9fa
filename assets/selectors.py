"""Reads of assets."""

from django.db.models import F, QuerySet

from assets.models import Asset

# Category -> (field, descending): "top" lists skip assets without the figure.
TOP_CATEGORIES: dict[str, tuple[str, bool]] = {
    "market_cap": ("market_cap", True),
    "volume": ("volume_24h", True),
    "gainers": ("change_24h", True),
    "losers": ("change_24h", False),
}


def asset_list() -> QuerySet[Asset]:
    return Asset.objects.order_by(F("rank").asc(nulls_last=True), "symbol")


def tracked_by_rank(*, limit: int) -> list[Asset]:
    """The first `limit` tracked assets by rank (unranked last): what syncs fetch."""
    return list(asset_list().filter(is_tracked=True)[:limit])


def asset_by_symbol(*, symbol: str) -> Asset | None:
    return Asset.objects.filter(symbol=symbol.upper()).first()


def top_assets(*, category: str, limit: int) -> list[Asset]:
    field, descending = TOP_CATEGORIES[category]
    order = F(field).desc() if descending else F(field).asc()
    return list(
        Asset.objects.filter(**{f"{field}__isnull": False}).order_by(order, "symbol")[
            :limit
        ]
    )
