"""`upsert_listings`: one asset per coin, matched by provider id, then symbol."""

from datetime import UTC, datetime

import pytest

from assets.models import Asset
from assets.services import upsert_listings
from prices.ingest.providers import ListingIn
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def listing(symbol: str, **fields) -> ListingIn:  # type: ignore[no-untyped-def]
    return ListingIn(symbol=symbol, name=fields.pop("name", symbol.title()), price=1.0,
                     as_of=NOW, **fields)  # fmt: skip


def test_new_coins_are_created_and_known_ones_updated_without_touching_prices(btc):
    Asset.objects.filter(pk=btc.pk).update(price=50.0, price_source="binance")
    pairs, created, rejected = upsert_listings(
        listings=[
            listing("BTC", coingecko_id="bitcoin", rank=1, market_cap=1e12),
            listing("XRP", coingecko_id="ripple", rank=6),
        ]
    )
    assert (created, rejected) == (1, {})
    assert [a.symbol for a, _ in pairs] == ["BTC", "XRP"]
    btc.refresh_from_db()
    # Listing figures change here; the price belongs to record_latest_prices.
    assert (btc.market_cap, btc.price, btc.price_source) == (1e12, 50.0, "binance")
    assert Asset.objects.get(symbol="XRP").coingecko_id == "ripple"


def test_a_second_coin_with_a_taken_symbol_is_refused_not_merged(db):
    AssetFactory(symbol="LUNA", name="Terra", coingecko_id="terra-luna-2")
    pairs, created, rejected = upsert_listings(
        listings=[listing("LUNA", name="Terra Classic", coingecko_id="terra-luna")]
    )
    assert (pairs, created, rejected) == ([], 0, {"symbol_conflict": 1})
    assert Asset.objects.get(symbol="LUNA").name == "Terra"


def test_a_symbol_match_adopts_the_providers_id_and_repeats_are_dropped(db):
    AssetFactory(symbol="ETH", name="Ethereum")
    pairs, created, rejected = upsert_listings(
        listings=[
            listing("ETH", coinmarketcap_id=1027),
            listing("ETH", coinmarketcap_id=1027),
        ]
    )
    assert (len(pairs), created, rejected) == (1, 0, {"duplicate_listing": 1})
    assert Asset.objects.get(symbol="ETH").coinmarketcap_id == 1027


def test_a_bad_listing_is_refused_and_counted_while_the_rest_are_stored(db):
    """One provider row with an over-long symbol or name, a quote in its symbol, or a
    value the table refuses does not roll back the listings around it."""
    pairs, created, rejected = upsert_listings(
        listings=[
            listing("BTC", coingecko_id="bitcoin", rank=1),
            listing("X" * 21),
            listing('ETH"'),
            listing("DOGE", name="D" * 101),
            listing("NEG", rank=-1),  # rank is a positive integer in the table
            listing("SOL", coingecko_id="solana", rank=5),
        ]
    )
    assert [a.symbol for a, _ in pairs] == ["BTC", "SOL"]
    assert created == 2
    assert rejected == {"bad_symbol": 2, "bad_name": 1, "refused_by_database": 1}
    assert sorted(Asset.objects.values_list("symbol", flat=True)) == ["BTC", "SOL"]
