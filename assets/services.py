"""Writes to assets."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import DataError, IntegrityError, transaction

from assets.models import Asset
from assets.records import ListingIn
from assets.symbols import symbol_error


def ensure_asset(*, symbol: str, name: str, **fields: Any) -> Asset:
    """The asset with this symbol, created with `name` and `fields` when it is new."""
    asset, _ = Asset.objects.get_or_create(
        symbol=symbol.upper(), defaults={"name": name, **fields}
    )
    return asset


LISTING_FIELDS = (
    "rank", "market_cap", "volume_24h", "change_24h",
    "circulating_supply", "total_supply", "max_supply",
)  # fmt: skip


def upsert_listings(
    *, listings: Iterable[ListingIn]
) -> tuple[list[tuple[Asset, ListingIn]], int, Counter[str]]:
    """Creates or updates one asset per listing, matched by provider id, then symbol.

    Returns (asset, listing) pairs for the prices to record, how many assets were new,
    and the listings refused by reason. Prices themselves are written by
    `prices.latest.record_latest_prices`, never here.
    """
    matched: list[tuple[Asset, ListingIn]] = []
    created = 0
    rejected: Counter[str] = Counter()
    seen: set[int] = set()
    for listing in listings:
        if problem := listing_problem(listing):
            rejected[problem] += 1  # one bad row, not the whole sync
            continue
        asset = _find_asset(listing)
        if asset is None:
            symbol_taken = Asset.objects.filter(symbol=listing.symbol).first()
            if symbol_taken is not None:
                # Two coins share a ticker (common on CoinGecko): keep the one we have.
                rejected["symbol_conflict"] += 1
                continue
            asset = Asset(symbol=listing.symbol, name=listing.name)
            created += 1
        if asset.pk in seen:
            rejected["duplicate_listing"] += 1
            continue
        for name in LISTING_FIELDS:
            setattr(asset, name, getattr(listing, name))
        if listing.coingecko_id and not asset.coingecko_id:
            asset.coingecko_id = listing.coingecko_id
        if listing.coinmarketcap_id and not asset.coinmarketcap_id:
            asset.coinmarketcap_id = listing.coinmarketcap_id
        new = asset.pk is None
        try:
            with transaction.atomic():  # a savepoint: a refused row leaves the rest
                if new:
                    asset.save()
                else:  # never the price fields: those belong to record_latest_prices
                    asset.save(update_fields=[*LISTING_FIELDS, "coingecko_id",
                                              "coinmarketcap_id", "updated_at"])  # fmt: skip
        except (DataError, IntegrityError):
            rejected["refused_by_database"] += 1
            created -= int(new)
            continue
        seen.add(asset.pk)
        matched.append((asset, listing))
    return matched, created, rejected


NAME_LENGTH = Asset._meta.get_field("name").max_length or 100
PROVIDER_ID_LENGTH = Asset._meta.get_field("coingecko_id").max_length or 100


def listing_problem(listing: ListingIn) -> str | None:
    """Why a listing cannot become an asset (counted as the rejection reason), or None."""
    if symbol_error(listing.symbol):
        return "bad_symbol"  # over-long, or a character such as a quote
    if not listing.name.strip() or len(listing.name) > NAME_LENGTH:
        return "bad_name"
    if listing.coingecko_id and len(listing.coingecko_id) > PROVIDER_ID_LENGTH:
        return "bad_provider_id"
    return None


def _find_asset(listing: ListingIn) -> Asset | None:
    if listing.coingecko_id:
        found = Asset.objects.filter(coingecko_id=listing.coingecko_id).first()
        if found:
            return found
    if listing.coinmarketcap_id:
        found = Asset.objects.filter(coinmarketcap_id=listing.coinmarketcap_id).first()
        if found:
            return found
    by_symbol = Asset.objects.filter(symbol=listing.symbol).first()
    if by_symbol is None:
        return None
    # The same symbol under another provider id is another coin.
    if (
        listing.coingecko_id
        and by_symbol.coingecko_id
        and by_symbol.coingecko_id != listing.coingecko_id
    ) or (
        listing.coinmarketcap_id
        and by_symbol.coinmarketcap_id
        and by_symbol.coinmarketcap_id != listing.coinmarketcap_id
    ):
        return None
    return by_symbol
