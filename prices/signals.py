"""Cache invalidation only (STYLE.md): an untracked or deleted asset leaves the Redis
copy of latest prices, so listings from Redis and from PostgreSQL name the same assets."""

from typing import Any

from django.db import transaction

from assets.models import Asset
from marketpulse.api import caching
from prices.latest import forget_latest_price


def asset_changed(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    if kwargs.get("created") is None or not instance.is_tracked:  # None: a delete
        symbol = instance.symbol

        def forget() -> None:
            forget_latest_price(symbol)
            # Again after the drop: a response built between the assets app's bump
            # and the drop would name the asset.
            caching.bump_versions([symbol])

        transaction.on_commit(forget)
