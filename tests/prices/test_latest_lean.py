"""The lean path of latest prices (prices/lean_views.py) answers as the DRF view does:
same bodies, statuses, envelopes and headers, one rate-limit budget across both, and the
rate limiter and the price read share nothing through the request."""

import functools
from datetime import UTC, datetime

import pytest
from django.test import RequestFactory
from django.utils.functional import cached_property
from rest_framework.throttling import SimpleRateThrottle

from marketpulse.api import throttles
from prices import lean_views
from prices.latest import record_latest_prices
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

# An Accept header the lean views leave to DRF: the same request through both paths.
VIA_DRF = {"HTTP_ACCEPT": "application/json; q=0.9"}


@pytest.fixture
def priced(btc, eth):  # type: ignore[no-untyped-def]
    record_latest_prices(
        [
            (btc, 65000.5, datetime.now(UTC), "test"),
            (eth, 3200.25, datetime.now(UTC), "test"),
        ]
    )


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")


def without_age(body: dict) -> dict:
    if "results" in body:
        return {**body, "results": [without_age(r) for r in body["results"]]}
    return {k: v for k, v in body.items() if k != "age_seconds"}


@pytest.mark.parametrize(
    "path", ["/api/v1/prices/latest/BTC/", "/api/v1/prices/latest/"]
)
def test_both_paths_answer_the_same(api_client, priced, path):
    api_client.get(path)  # the first full read refills Redis from PostgreSQL (a MISS)
    lean, drf = api_client.get(path), api_client.get(path, **VIA_DRF)
    assert lean.status_code == drf.status_code == 200
    assert without_age(lean.json()) == without_age(drf.json())
    for response in (lean, drf):
        assert response["Content-Type"] == "application/json"
        assert response["X-Cache"] == "HIT"
        assert response["X-RateLimit-Limit"]
        assert len(response["X-Request-ID"]) == 32
        assert "app;dur=" in response["Server-Timing"]
    assert int(drf["X-RateLimit-Remaining"]) == int(lean["X-RateLimit-Remaining"]) - 1


@pytest.mark.parametrize(
    ("symbol", "message"),
    [("NOPE", "No asset with symbol NOPE."), ("SOL", "No price for SOL yet.")],
)
def test_a_missing_price_is_the_same_404(api_client, priced, symbol, message):
    AssetFactory(symbol="SOL")
    url = f"/api/v1/prices/latest/{symbol}/"
    lean, drf = api_client.get(url), api_client.get(url, **VIA_DRF)
    for response in (lean, drf):
        assert response.status_code == 404
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("not_found", message)


def test_one_budget_across_both_paths_and_the_same_429(
    api_client, priced, three_per_minute
):
    url = "/api/v1/prices/latest/BTC/"
    api_client.get(url)
    api_client.get(url, **VIA_DRF)
    api_client.get(url)
    lean, drf = api_client.get(url), api_client.get(url, **VIA_DRF)
    for response in (lean, drf):
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["code"] == "throttled"
        assert error["details"]["retry_after"] == int(response["Retry-After"])
        assert response["X-RateLimit-Remaining"] == "0"


def test_signed_in_and_unusual_requests_take_the_drf_path(
    alice_client, api_client, priced
):
    """A malformed symbol and a query go to the DRF view, credentials to its
    authenticators."""
    malformed = api_client.get("/api/v1/prices/latest/a%20b/")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "validation_error"
    assert api_client.get("/api/v1/prices/latest/?symbols=btc,nope").json()[
        "missing"
    ] == ["NOPE"]
    signed_in = api_client.get(
        "/api/v1/prices/latest/BTC/", HTTP_AUTHORIZATION="Bearer not-a-token"
    )
    assert signed_in.status_code == 401  # authenticated (and refused) by DRF


def test_the_limiter_and_the_price_read_share_no_request_attributes(priced):
    """`count_request` is a plain function; the lean view leaves nothing on the request
    (beyond Django's own cached properties) and reads no attribute another set."""
    request = RequestFactory().get("/api/v1/prices/latest/BTC/")
    before = set(vars(request))
    response = lean_views.latest_one(request, "BTC")
    assert response.status_code == 200
    cached = {
        name for klass in type(request).__mro__ for name, value in vars(klass).items()
        if isinstance(value, functools.cached_property | cached_property)
    } | {"_cookies"}  # fmt: skip
    assert set(vars(request)) - before - cached == set()
    counted = throttles.count_request("test:plain", limit=5, duration=60,
                                      reads=[("get", ("mp:nothing",))])  # fmt: skip
    assert counted.allowed
    assert counted.replies == [None]
    assert counted.state is not None
    assert counted.state.remaining == 4


@pytest.mark.parametrize(
    "path", ["/api/v1/prices/latest/BTC/", "/api/v1/prices/latest/"]
)
def test_a_latest_read_is_one_redis_round_trip(api_client, priced, redis_writes, path):
    """The count and the price reads go in one pipeline: one write to Redis (the list
    took three: the count, the completeness marker, the hash)."""
    api_client.get(
        "/api/v1/prices/latest/"
    )  # refilled from PostgreSQL, marked complete
    redis_writes.clear()
    response = api_client.get(path)
    assert (response.status_code, response["X-Cache"]) == (200, "HIT")
    assert len(redis_writes) == 1


@pytest.mark.parametrize("damage", ["partial", "corrupt", "down"])
def test_the_list_from_a_damaged_or_missing_redis_comes_from_postgresql(
    api_client, priced, settings, damage
):
    from django_redis import get_redis_connection

    from tests.servers import redis_at

    redis = get_redis_connection("default")
    api_client.get("/api/v1/prices/latest/")  # complete in Redis
    if damage == "partial":  # as after a restart: one price lost, the marker too
        redis.hdel("mp:latest", "ETH")
        redis.delete("mp:latest:complete")
    elif damage == "corrupt":
        redis.hset("mp:latest", "BTC", b'{"x": 1}')
    else:
        redis_at(settings, "redis://127.0.0.1:1/0")
    response = api_client.get("/api/v1/prices/latest/")
    assert (response.status_code, response["X-Cache"]) == (200, "MISS")
    prices = {r["symbol"]: r["price"] for r in response.json()["results"]}
    assert prices == {"BTC": 65000.5, "ETH": 3200.25}
    if damage != "down":
        assert api_client.get("/api/v1/prices/latest/")["X-Cache"] == "HIT"  # refilled
