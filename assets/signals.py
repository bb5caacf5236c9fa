"""Cache invalidation only (STYLE.md): an asset saved or deleted makes its cached
responses and every listing stale. (`prices.signals` drops its latest price.)"""

from typing import Any

from django.db import transaction

from assets.models import Asset
from marketpulse.api import caching


def asset_changed(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    symbol = instance.symbol
    transaction.on_commit(lambda: caching.bump_versions([symbol]))
