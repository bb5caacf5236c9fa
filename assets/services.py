"""Writes to assets."""

from typing import Any

from assets.models import Asset


def ensure_asset(*, symbol: str, name: str, **fields: Any) -> Asset:
    """The asset with this symbol, created with `name` and `fields` when it is new."""
    asset, _ = Asset.objects.get_or_create(
        symbol=symbol.upper(), defaults={"name": name, **fields}
    )
    return asset
