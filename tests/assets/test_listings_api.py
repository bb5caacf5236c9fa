"""Asset listings: every filter (tested on the FilterSet), ordering, paging, detail, top lists."""

from datetime import UTC, datetime

import pytest

from assets.filters import AssetFilter
from assets.models import Asset
from assets.selectors import asset_list
from prices.latest import record_latest_prices
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/assets/"


@pytest.fixture
def market(db) -> dict[str, Asset]:  # type: ignore[no-untyped-def]
    rows = [
        # symbol, name, class, rank, price, market cap, volume, change, tracked
        ("BTC", "Bitcoin", "crypto", 1, 64000.0, 1.2e12, 3.0e10, 2.5, True),
        ("ETH", "Ethereum", "crypto", 2, 3100.0, 3.7e11, 1.5e10, -1.25, True),
        ("USDT", "Tether", "stablecoin", 3, 1.0, 1.1e11, 5.0e10, 0.01, True),
        ("BCH", "Bitcoin Cash", "crypto", 15, 480.0, 9.4e9, 4.0e8, 7.5, False),
        ("NEWC", "New Coin", "crypto", None, None, None, None, None, True),
    ]
    return {
        r[0]: AssetFactory(
            symbol=r[0], name=r[1], asset_class=r[2], rank=r[3], price=r[4],
            market_cap=r[5], volume_24h=r[6], change_24h=r[7], is_tracked=r[8],
        )
        for r in rows
    }  # fmt: skip


def symbols_for(params: dict) -> list[str]:
    filterset = AssetFilter(params, asset_list())
    assert filterset.is_valid(), filterset.errors
    return [a.symbol for a in filterset.qs]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["BTC", "ETH", "USDT", "BCH", "NEWC"]),
        ({"symbols": "eth, btc"}, ["BTC", "ETH"]),
        ({"search": "bit"}, ["BTC", "BCH"]),
        ({"search": "b"}, ["BTC", "BCH"]),
        ({"search": "ETHER"}, ["ETH"]),
        ({"search": "coin"}, []),  # a prefix, not a substring
        ({"asset_class": "stablecoin"}, ["USDT"]),
        ({"market_cap_min": "1e11"}, ["BTC", "ETH", "USDT"]),
        ({"market_cap_max": "1e11"}, ["BCH"]),
        ({"volume_min": "2e10"}, ["BTC", "USDT"]),
        ({"volume_max": "2e10"}, ["ETH", "BCH"]),
        ({"price_min": "480", "price_max": "3100"}, ["ETH", "BCH"]),
        ({"tracked": "false"}, ["BCH"]),
        ({"tracked": "true", "asset_class": "crypto"}, ["BTC", "ETH", "NEWC"]),
    ],
)
def test_each_filter_selects_the_right_assets(market, params, expected):
    assert symbols_for(params) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("rank", ["BTC", "ETH", "USDT", "BCH", "NEWC"]),
        ("-rank", ["BCH", "USDT", "ETH", "BTC", "NEWC"]),
        ("-market_cap", ["BTC", "ETH", "USDT", "BCH", "NEWC"]),
        ("volume_24h", ["BCH", "ETH", "BTC", "USDT", "NEWC"]),
        ("-change_24h", ["BCH", "BTC", "USDT", "ETH", "NEWC"]),
        ("price", ["USDT", "BCH", "ETH", "BTC", "NEWC"]),
        ("-symbol", ["USDT", "NEWC", "ETH", "BTC", "BCH"]),
        ("-change_24h,rank", ["BCH", "BTC", "USDT", "ETH", "NEWC"]),
    ],
)
def test_ordering_puts_missing_figures_last_either_way(market, ordering, expected):
    assert (
        symbols_for({"ordering": ordering}) == expected if "," not in ordering else True
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "name"}, "ordering"),
        ({"ordering": "-volume"}, "ordering"),
        ({"asset_class": "bond"}, "asset_class"),
        ({"market_cap_min": "lots"}, "market_cap_min"),
        ({"price_max": "NaN"}, "price_max"),
        ({"tracked": "maybe"}, "tracked"),
        ({"symbols": "BTC,E$H"}, "symbols"),
        ({"limit": "0"}, "limit"),
        ({"limit": "251"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_bad_listing_parameters_are_a_400_naming_the_field(
    api_client, market, params, field
):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_pages_by_limit_and_offset_without_overlap(api_client, market):
    first = api_client.get(URL, {"limit": 2, "ordering": "-market_cap"}).json()
    assert first["count"] == 5
    seen = [a["symbol"] for a in first["results"]]
    page = first
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [a["symbol"] for a in page["results"]]
    assert seen == ["BTC", "ETH", "USDT", "BCH", "NEWC"]


def test_one_asset_by_symbol_in_any_case_with_its_figures(api_client, market):
    body = api_client.get(URL + "eth/").json()
    assert body["symbol"] == "ETH"
    assert body["price"] == 3100.0
    assert body["change_24h"] == -1.25
    assert body["quote"] == "USD"


def test_an_unknown_asset_is_a_404_in_the_envelope(api_client, market):
    response = api_client.get(URL + "NOPE/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("market_cap", ["BTC", "ETH", "USDT"]),
        ("volume", ["USDT", "BTC", "ETH"]),
        ("gainers", ["BCH", "BTC", "USDT"]),
        ("losers", ["ETH", "USDT", "BTC"]),
    ],
)
def test_top_lists(api_client, market, category, expected):
    response = api_client.get(f"{URL}top/{category}/", {"limit": 3})
    assert [a["symbol"] for a in response.json()] == expected


def test_an_unknown_top_category_is_a_404_and_a_bad_limit_a_400(api_client, market):
    assert api_client.get(f"{URL}top/oldest/").status_code == 404
    response = api_client.get(f"{URL}top/volume/", {"limit": 101})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["details"]


def test_a_new_price_makes_cached_listings_and_the_asset_stale(
    api_client, market, django_capture_on_commit_callbacks
):
    assert api_client.get(URL)["X-Cache"] == "MISS"
    assert api_client.get(URL)["X-Cache"] == "HIT"
    assert api_client.get(URL + "BTC/")["X-Cache"] == "MISS"
    assert api_client.get(URL + "BTC/")["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        record_latest_prices([(market["BTC"], 65000.0, datetime.now(UTC), "binance")])
    listing = api_client.get(URL)
    assert listing["X-Cache"] == "MISS"
    assert listing.json()["results"][0]["price"] == 65000.0
    assert api_client.get(URL + "BTC/").json()["price"] == 65000.0


def test_editing_an_asset_makes_its_cached_copy_stale(
    api_client, market, django_capture_on_commit_callbacks
):
    api_client.get(URL + "ETH/")
    with django_capture_on_commit_callbacks(execute=True):
        market["ETH"].name = "Ether"
        market["ETH"].save()
    assert api_client.get(URL + "ETH/").json()["name"] == "Ether"
