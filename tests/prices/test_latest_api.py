"""GET /api/v1/prices/latest/ and /latest/{symbol}/: Redis first, PostgreSQL behind it."""

from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from prices.latest import record_latest_prices
from tests.servers import redis_at

pytestmark = pytest.mark.django_db

ONE = "/api/v1/prices/latest/{}/"
ALL = "/api/v1/prices/latest/"


@pytest.fixture
def priced(btc, eth):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    record_latest_prices(
        [(btc, 64000.5, now - timedelta(seconds=30), "binance"),
         (eth, 3100.25, now - timedelta(hours=2), "coingecko")]
    )  # fmt: skip
    return now


def test_the_latest_price_says_where_it_came_from_and_how_old_it_is(api_client, priced):
    response = api_client.get(ONE.format("btc"))
    assert response.status_code == 200
    assert response["X-Cache"] == "HIT"
    body = response.json()
    assert body["symbol"] == "BTC"
    assert body["price"] == 64000.5
    assert body["quote"] == "USD"
    assert body["source"] == "binance"
    assert 30 <= body["age_seconds"] < 90
    assert body["as_of"].endswith("Z")


def test_a_stale_price_shows_its_age(api_client, priced):
    assert api_client.get(ONE.format("ETH")).json()["age_seconds"] >= 7200


def test_after_redis_lost_its_data_the_price_comes_from_postgresql(api_client, priced):
    get_redis_connection("default").flushdb()
    first = api_client.get(ONE.format("BTC"))
    assert first["X-Cache"] == "MISS"
    assert first.json()["price"] == 64000.5
    assert api_client.get(ONE.format("BTC"))["X-Cache"] == "HIT"  # refilled


def test_a_corrupt_entry_in_redis_is_replaced_from_postgresql(api_client, priced):
    get_redis_connection("default").hset("mp:latest", "BTC", b'{"x": 1}')
    response = api_client.get(ONE.format("BTC"))
    assert response.status_code == 200
    assert response["X-Cache"] == "MISS"
    assert response.json()["price"] == 64000.5
    assert api_client.get(ONE.format("BTC"))["X-Cache"] == "HIT"


def test_with_redis_down_prices_are_still_served(api_client, priced, settings):
    redis_at(settings, "redis://127.0.0.1:1/0")
    response = api_client.get(ONE.format("BTC"))
    assert response.status_code == 200
    assert response["X-Cache"] == "MISS"
    assert response.json()["price"] == 64000.5


def test_an_unknown_symbol_is_a_404_and_an_asset_without_price_too(api_client, btc):
    unknown = api_client.get(ONE.format("NOPE"))
    assert unknown.status_code == 404
    assert "NOPE" in unknown.json()["error"]["message"]
    unpriced = api_client.get(ONE.format("BTC"))
    assert unpriced.status_code == 404
    assert unpriced.json()["error"]["code"] == "not_found"


def test_a_malformed_symbol_is_a_400(api_client, db):
    response = api_client.get(ONE.format("B%24C"))
    assert response.status_code == 400
    assert "symbol" in response.json()["error"]["details"]


def test_the_list_gives_every_tracked_price_by_symbol(api_client, priced):
    body = api_client.get(ALL).json()
    assert [p["symbol"] for p in body["results"]] == ["BTC", "ETH"]
    assert body["count"] == 2
    assert body["missing"] == []


def test_the_list_keeps_the_order_asked_and_names_what_is_missing(api_client, priced):
    body = api_client.get(ALL, {"symbols": "eth,NOPE,btc"}).json()
    assert [p["symbol"] for p in body["results"]] == ["ETH", "BTC"]
    assert body["missing"] == ["NOPE"]


@pytest.mark.parametrize("symbols", [",,", "BTC,E$H", ",".join(["A"] * 101)])
def test_bad_symbol_lists_are_a_400(api_client, db, symbols):
    response = api_client.get(ALL, {"symbols": symbols})
    assert response.status_code == 400
    assert "symbols" in response.json()["error"]["details"]
