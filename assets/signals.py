"""Cache invalidation only (STYLE.md): an asset saved or deleted makes its cached
responses and every listing stale."""

from typing import Any

from django.db import transaction

from assets.models import Asset
from prices import caching


def asset_changed(sender: type[Asset], instance: Asset, **kwargs: Any) -> None:
    transaction.on_commit(lambda: caching.bump_versions([instance.symbol]))
