"""Schema and validation say the same thing (issue 11, item 3): each mismatch found once,
checked in both directions: the schema states the rule, and the API keeps to it (what
the schema allows is accepted; what it forbids is a 400 in the error envelope)."""

import re

import pytest

from assets.filters import LARGEST_FIGURE
from assets.symbols import SYMBOL_PATTERN, symbol_list_pattern
from marketpulse.api.idempotency import HEADER, KEY_PATTERN
from marketpulse.api.pagination import LimitOffsetPage
from marketpulse.api.text_schema import NO_NUL, NOT_BLANK
from prices.intervals import TIME_PATTERN
from tests.factories import PASSWORD
from tests.schema_helpers import generated_schema, parameter, query_parameter

CANDLES = "/api/v1/prices/{symbol}/candles/"
SYMBOL_PATHS = [
    "/api/v1/assets/{symbol}/",
    "/api/v1/prices/latest/{symbol}/",
    CANDLES,
]


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        return generated_schema()


def assert_400_naming(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert error["request_id"]


# limit=0: refused, so the schema says minimum 1 (on every list, not only the listings).


def test_limit_0_is_refused_and_the_schema_says_so(schema, api_client, btc):
    assert query_parameter(schema, "/api/v1/assets/", "limit")["minimum"] == 1
    assert query_parameter(schema, "/api/v1/assets/", "limit")["maximum"] == (
        LimitOffsetPage.max_limit
    )
    assert_400_naming(api_client.get("/api/v1/assets/", {"limit": "0"}), "limit")
    assert api_client.get("/api/v1/assets/", {"limit": "1"}).status_code == 200


# symbols= and tracked= given empty: refused, as the schema's minLength and enum say.


@pytest.mark.parametrize(
    ("path", "limit"), [("/api/v1/assets/", 250), ("/api/v1/prices/latest/", 100)]
)
def test_an_empty_symbol_list_is_refused_and_the_schema_says_so(
    schema, api_client, btc, path, limit
):
    symbols = query_parameter(schema, path, "symbols")
    assert symbols["minLength"] == 1
    assert symbols["pattern"] == symbol_list_pattern(limit)
    assert_400_naming(api_client.get(path, {"symbols": ""}), "symbols")
    assert api_client.get(path, {"symbols": "btc, eth,"}).status_code == 200


@pytest.mark.parametrize("text", ["BTC,,ETH", "BTC\n", " , "])
def test_what_the_symbol_list_pattern_forbids_is_refused(api_client, btc, text):
    assert not re.fullmatch(symbol_list_pattern(100), text)
    response = api_client.get("/api/v1/prices/latest/", {"symbols": text})
    assert_400_naming(response, "symbols")


def test_an_empty_tracked_flag_is_refused_and_the_schema_lists_its_values(
    schema, api_client, btc
):
    assert query_parameter(schema, "/api/v1/assets/", "tracked")["enum"] == [
        "false",
        "true",
    ]
    assert_400_naming(api_client.get("/api/v1/assets/", {"tracked": ""}), "tracked")
    assert api_client.get("/api/v1/assets/", {"tracked": "true"}).status_code == 200


@pytest.mark.parametrize("name", ["asset_class", "market_cap_min", "price_max"])
def test_other_listing_filters_given_empty_are_refused_too(api_client, btc, name):
    assert_400_naming(api_client.get("/api/v1/assets/", {name: ""}), name)


# Symbols in paths: the schema has the one symbol rule as its pattern, so a schema-valid
# symbol is never a 400 (an unknown one is a 404) and a schema-invalid one is.


@pytest.mark.parametrize("path", SYMBOL_PATHS)
def test_symbol_path_parameters_have_the_symbol_pattern(schema, path):
    assert parameter(schema, path, "symbol", "path")["pattern"] == SYMBOL_PATTERN


@pytest.mark.parametrize("path", SYMBOL_PATHS)
@pytest.mark.parametrize(("symbol", "status"), [("x.Y_z-1", 404), ("'w", 400)])
def test_a_symbol_path_is_answered_as_its_pattern_says(
    api_client, db, path, symbol, status
):
    assert bool(re.fullmatch(SYMBOL_PATTERN, symbol)) == (status == 404)
    response = api_client.get(path.format(symbol=symbol))
    assert response.status_code == status, response.content
    if status == 400:
        assert_400_naming(response, "symbol")


# start= given empty is not a date-time: refused; the schema says date-time with a pattern.


@pytest.mark.parametrize("name", ["start", "end", "limit", "interval"])
def test_an_empty_candle_parameter_is_refused(api_client, btc, name):
    response = api_client.get(CANDLES.format(symbol="BTC"), {name: ""})
    assert_400_naming(response, name)


def test_candle_times_follow_the_schema_pattern(schema, api_client, btc):
    start = query_parameter(schema, CANDLES, "start")
    assert start["format"] == "date-time"
    assert start["pattern"] == TIME_PATTERN
    url = CANDLES.format(symbol="BTC")
    ok = "2024-03-01T00:00:00+01:00"
    assert re.fullmatch(TIME_PATTERN, ok)
    assert api_client.get(url, {"start": ok}).status_code == 200
    for bad in ["2024-03-01", "2024-03-01 00:00:00Z", "0394-06-13T00:44:06Z"]:
        assert not re.fullmatch(TIME_PATTERN, bad)
        assert_400_naming(api_client.get(url, {"start": bad}), "start")


# Empty credentials: refused, so the token routes' request bodies say minLength 1.


def test_empty_credentials_are_refused_and_the_schema_says_so(
    schema, api_client, alice
):
    obtain = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]
    ref = obtain["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["properties"]["username"]["minLength"] == 1
    assert body["properties"]["password"]["minLength"] == 1
    empty = api_client.post(
        "/api/v1/auth/token/", {"username": "", "password": ""}, format="json"
    )
    assert_400_naming(empty, "username")
    signed_in = api_client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        format="json",
    )
    assert signed_in.status_code == 200


# Found by the property-based run with every check on, beyond the five above.


def request_property(schema, component: str, name: str):  # type: ignore[no-untyped-def]
    return schema["components"]["schemas"][component]["properties"][name]


def test_text_that_may_not_be_blank_needs_a_visible_character(schema, alice_client):
    """DRF trims whitespace before its blank check, and refuses NUL everywhere."""
    name = request_property(schema, "PortfolioRequest", "name")
    assert name["pattern"] == NOT_BLANK
    note = request_property(schema, "TradeRequest", "note")
    assert note["pattern"] == NO_NUL
    for bad in ["   ", "Main\x00"]:
        assert not re.fullmatch(name["pattern"], bad)
        response = alice_client.post(
            "/api/v1/portfolios/", {"name": bad}, format="json"
        )
        assert_400_naming(response, "name")


def test_the_base_currency_is_case_insensitive_in_schema_and_api(schema, alice_client):
    pattern = request_property(schema, "PortfolioRequest", "base_currency")["pattern"]
    for currency, status in [("uSd", 201), ("EUR", 400), (" USD", 400)]:
        assert bool(re.fullmatch(pattern, currency)) == (status == 201)
        response = alice_client.post(
            "/api/v1/portfolios/",
            {"name": "Main", "base_currency": currency},
            format="json",
        )
        assert response.status_code == status, response.content
        if status == 400:
            assert_400_naming(response, "base_currency")


def test_idempotency_keys_follow_the_header_pattern(schema, alice_client):
    header = parameter(schema, "/api/v1/portfolios/", HEADER, "header", "post")
    assert header["pattern"] == KEY_PATTERN
    for key, status in [("order-42", 201), ("é", 400), ("k" * 256, 400)]:
        assert bool(re.fullmatch(KEY_PATTERN, key)) == (status == 201)
        response = alice_client.post(
            "/api/v1/portfolios/",
            {"name": "Main"},
            format="json",
            headers={HEADER: key},
        )
        assert response.status_code == status, response.content


def test_listing_figures_state_their_maximum(schema, api_client, btc):
    assert query_parameter(schema, "/api/v1/assets/", "market_cap_min") == {
        "type": "number",
        "maximum": LARGEST_FIGURE,
    }
    assert_400_naming(
        api_client.get("/api/v1/assets/", {"market_cap_min": "1e51"}), "market_cap_min"
    )
    ok = api_client.get("/api/v1/assets/", {"market_cap_min": "-1e300"})
    assert ok.status_code == 200


def test_performance_times_follow_the_schema_pattern(schema, alice_client):
    path = "/api/v1/portfolios/{id}/performance/"
    assert query_parameter(schema, path, "start")["pattern"] == TIME_PATTERN
    url = alice_client.post("/api/v1/portfolios/", {"name": "Main"}, format="json")
    url = f"/api/v1/portfolios/{url.json()['id']}/performance/"
    ok = alice_client.get(url, {"start": "2026-01-01T00:00:00Z"})
    assert ok.status_code == 200, ok.content
    for bad in ["2018-01-01 00:00", "2018-01-01T00:00:00", "2018-01-01"]:
        assert not re.fullmatch(TIME_PATTERN, bad)
        assert_400_naming(alice_client.get(url, {"start": bad}), "start")


def test_a_body_with_a_huge_integer_and_an_idempotency_key_is_not_a_500(alice_client):
    """Found by the run: the request fingerprint could not encode integers past 64 bits."""
    response = alice_client.post(
        "/api/v1/portfolios/",
        {"name": "Main", "extra": 10**30},
        format="json",
        headers={HEADER: "big"},
    )
    assert response.status_code == 201, response.content
