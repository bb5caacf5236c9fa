from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from assets.models import Asset
from prices.latest import latest_prices, record_latest_prices
from tests import servers
from tests.servers import redis_at

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_recorded_prices_are_served_from_redis(btc, eth):
    assert (
        record_latest_prices(
            [(btc, 62000.5, NOW, "binance"), (eth, 3400.0, NOW, "binance")]
        )
        == 2
    )
    prices, hit = latest_prices(["ETH", "BTC"])
    assert hit is True
    assert [
        (p["symbol"], p["price"], p["as_of"], p["source"], p["quote"]) for p in prices
    ] == [
        ("ETH", 3400.0, "2024-03-01T12:00:00Z", "binance", "USD"),
        ("BTC", 62000.5, "2024-03-01T12:00:00Z", "binance", "USD"),
    ]
    assert Asset.objects.get(symbol="BTC").price == 62000.5


def test_an_older_price_never_replaces_a_newer_one(btc):
    record_latest_prices([(btc, 100.0, NOW, "a")])
    assert record_latest_prices([(btc, 50.0, NOW - timedelta(minutes=1), "b")]) == 0
    prices, _ = latest_prices(["BTC"])
    assert prices[0]["price"] == 100.0
    assert Asset.objects.get(pk=btc.pk).price_source == "a"


def test_after_redis_loses_everything_prices_come_from_postgresql_then_redis(btc, eth):
    record_latest_prices([(btc, 1.5, NOW, "x"), (eth, 2.5, NOW, "x")])
    get_redis_connection("default").flushdb()
    prices, hit = latest_prices()
    assert (hit, [p["symbol"] for p in prices]) == (False, ["BTC", "ETH"])
    prices, hit = latest_prices()
    assert (hit, [p["price"] for p in prices]) == (True, [1.5, 2.5])


def test_an_unknown_symbol_is_simply_absent(btc):
    record_latest_prices([(btc, 1.0, NOW, "x")])
    prices, hit = latest_prices(["BTC", "NOPE"])
    assert hit is False
    assert [p["symbol"] for p in prices] == ["BTC"]


def test_with_redis_down_prices_still_come_from_postgresql(btc, settings):
    dead = servers.free_port()
    redis_at(settings, f"redis://127.0.0.1:{dead}/0")
    assert record_latest_prices([(btc, 7.0, NOW, "x")]) == 1
    prices, hit = latest_prices(["BTC"])
    assert (hit, prices[0]["price"]) == (False, 7.0)


def test_an_untracked_or_deleted_asset_leaves_the_redis_listing(
    btc, eth, django_capture_on_commit_callbacks
):
    record_latest_prices([(btc, 1.0, NOW, "x"), (eth, 2.0, NOW, "x")])
    latest_prices()  # the full listing is now in Redis
    with django_capture_on_commit_callbacks(execute=True):
        eth.is_tracked = False
        eth.save()
    prices, hit = latest_prices()
    assert (hit, [p["symbol"] for p in prices]) == (True, ["BTC"])
    with django_capture_on_commit_callbacks(execute=True):
        btc.delete()
    assert latest_prices() == ([], True)
