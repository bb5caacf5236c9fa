"""Cache invalidation only (STYLE.md): an asset saved or deleted makes its cached
responses and every listing stale; an untracked or deleted one leaves the Redis copy of
latest prices, so listings from Redis and from PostgreSQL name the same assets."""

from typing import Any

from django.db import transaction

from assets.models import Asset
from prices import caching
from prices.latest import forget_latest_price


def asset_changed(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    gone = kwargs.get("created") is None or not instance.is_tracked  # None: a delete
    symbol = instance.symbol

    def invalidate() -> None:
        if gone:
            forget_latest_price(symbol)
        caching.bump_versions([symbol])

    transaction.on_commit(invalidate)
