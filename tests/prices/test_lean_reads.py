"""The lean path of candle pages and asset reads (prices/lean_views.py) answers as the
DRF views do, counts each request once (also when it hands one to a DRF view), and is
the path anonymous plain GETs take."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from prices import lean_views
from tests.prices.history import load_demo

pytestmark = pytest.mark.django_db

# An Accept header the lean views leave to DRF: the same request through both paths.
VIA_DRF = {"HTTP_ACCEPT": "application/json; q=0.9"}
ETH_1M = "binance_2018-06_ETH-USDT_1m.csv.gz"
READS = [
    "/api/v1/prices/ETH/candles/?interval=1m&limit=500&start=2018-06-18T00:00:00Z",
    "/api/v1/prices/ETH/candles/?interval=4h&limit=20&order=desc",
    "/api/v1/assets/?limit=1&ordering=symbol",
    "/api/v1/assets/ETH/",
]


@pytest.fixture
def eth_minutes(eth, btc):  # type: ignore[no-untyped-def]
    load_demo(eth, ETH_1M)
    return eth


@pytest.fixture
def five_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "5/min")


@pytest.mark.parametrize("path", READS)
def test_both_paths_answer_the_same(api_client, eth_minutes, path):
    lean_miss, drf, lean_hit = (
        api_client.get(path),
        api_client.get(path, **VIA_DRF),
        api_client.get(path),
    )
    assert lean_miss.status_code == drf.status_code == lean_hit.status_code == 200
    assert lean_miss.content == drf.content == lean_hit.content
    assert lean_miss["ETag"] == drf["ETag"] == lean_hit["ETag"]
    assert (lean_miss["X-Cache"], drf["X-Cache"], lean_hit["X-Cache"]) == (
        "MISS",
        "HIT",
        "HIT",
    )
    for response in (lean_miss, drf, lean_hit):
        assert response["Content-Type"] == "application/json"
        assert len(response["X-Request-ID"]) == 32
        assert int(response["X-RateLimit-Remaining"]) >= 0
    remaining = [int(r["X-RateLimit-Remaining"]) for r in (lean_miss, drf, lean_hit)]
    assert remaining == [remaining[0], remaining[0] - 1, remaining[0] - 2]
    not_modified = api_client.get(path, HTTP_IF_NONE_MATCH=lean_hit["ETag"])
    assert not_modified.status_code == 304
    assert not_modified["X-RateLimit-Remaining"] == str(remaining[0] - 3)


@pytest.mark.parametrize(
    ("path", "status", "code", "field"),
    [
        ("/api/v1/prices/NOPE/candles/?interval=1m", 404, "not_found", None),
        ("/api/v1/prices/ETH/candles/?interval=2m", 400, "validation_error", "interval"),
        ("/api/v1/prices/ETH/candles/?start=", 400, "validation_error", "start"),
        ("/api/v1/prices/ETH/candles/?interval=30m&limit=5000&end=2018-06-30T00:00:00Z",
         200, None, None),
        ("/api/v1/assets/?colour=red", 400, "validation_error", "colour"),
        ("/api/v1/assets/NOPE/", 404, "not_found", None),
    ],
)  # fmt: skip
def test_errors_and_misses_are_counted_once_and_worded_by_drf(
    api_client, eth_minutes, five_per_minute, path, status, code, field
):
    lean, drf = api_client.get(path), api_client.get(path, **VIA_DRF)
    assert lean.status_code == drf.status_code == status
    if code is not None:
        errors = [r.json()["error"] for r in (lean, drf)]
        for error in errors:
            assert len(error.pop("request_id")) == 32
        assert errors[0] == errors[1]
        assert errors[0]["code"] == code
        if field is not None:
            assert field in errors[0]["details"]
    assert (lean["X-RateLimit-Remaining"], drf["X-RateLimit-Remaining"]) == ("4", "3")


def test_one_budget_across_both_paths_and_the_same_429(
    api_client, eth_minutes, five_per_minute
):
    for n in range(5):
        api_client.get(READS[n % len(READS)], **(VIA_DRF if n % 2 else {}))
    for path in READS:
        lean, drf = api_client.get(path), api_client.get(path, **VIA_DRF)
        for response in (lean, drf):
            assert response.status_code == 429
            assert response.json()["error"]["code"] == "throttled"
            assert response["Retry-After"] == response["X-RateLimit-Reset"]


def test_anonymous_plain_reads_never_reach_a_drf_view(
    api_client, eth_minutes, monkeypatch
):
    for path in READS:
        api_client.get(path)  # fill the cache (the asset list's miss goes to DRF)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a DRF view was called")

    for name in ("candles", "assets", "asset"):
        monkeypatch.setattr(lean_views, f"_drf_{name}", refuse)
        monkeypatch.setattr(lean_views, f"_drf_{name}_uncounted", refuse)
    for path in READS:
        assert api_client.get(path).status_code == 200
    cold = "/api/v1/prices/ETH/candles/?interval=15m&limit=7"  # not cached: built here
    assert api_client.get(cold)["X-Cache"] == "MISS"


def test_signed_in_and_csv_requests_take_the_drf_path(alice_client, eth_minutes):
    path = "/api/v1/prices/ETH/candles/?interval=1h&limit=3"
    assert alice_client.get(path).status_code == 200
    assert alice_client.get(path)["X-RateLimit-Limit"]  # the user's budget, by DRF
    csv = alice_client.get(path + "&format=csv")
    assert csv["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("path", READS)
def test_a_cached_read_is_one_redis_round_trip_where_the_cache_shares_redis(
    api_client, eth_minutes, redis_writes, path
):
    """The cache entry's MGET rides on the rate limiter's pipeline: a hit is one write
    to Redis (two where the cache has a Redis of its own, as the embedded setup runs)."""
    from marketpulse.api import caching

    api_client.get(path)  # cached
    redis_writes.clear()
    hit = api_client.get(path)
    assert (hit.status_code, hit["X-Cache"]) == (200, "HIT")
    shared = caching.lookup_read(scope="*", key="") is not None
    assert len(redis_writes) == (1 if shared else 2)


def test_with_the_cache_off_and_counts_batched_a_cold_page_makes_no_round_trip(
    api_client, eth_minutes, redis_writes, settings, monkeypatch
):
    """`API_CACHE_TTL=0` stores nothing, so nothing is looked up; with the web server's
    batched counts (throttles.start_batching) the page then reads only PostgreSQL."""
    from marketpulse.api import throttles

    settings.API_CACHE_TTL = 0
    monkeypatch.setattr(throttles, "_batched", throttles.BatchedCounts(interval=60))
    path = "/api/v1/prices/ETH/candles/?interval=1h&limit=3"
    first = api_client.get(path)
    redis_writes.clear()
    again = api_client.get(path)
    assert (again.status_code, again["X-Cache"]) == (200, "MISS")
    assert again.json() == first.json()
    assert (
        int(again["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1
    )
    assert redis_writes == []


# What the lean candle path reads its query with (prices.serializers.read_candle_query):
# the serializer's data, or None and the serializer judges.
USUAL_QUERIES = [
    "",
    "interval=1m",
    "interval=1m&limit=1000&start=2018-06-18T00:00:00Z",
    "interval=1d&limit=5000&start=2022-03-01T00:00:00Z&end=2023-03-01T00:00:00Z",
    "interval=4h&limit=20&order=desc",
    "limit=1&order=asc&interval=1M",
    "start=2024-02-29T23:59:00%2B02:00",
    "start=2024-01-01T00:00:00.123456Z&end=2024-01-01T00:00:01Z",
    "interval=1h&interval=5m",  # the last value, as the serializer reads it
    "interval=1h&format=json&extra=1",  # parameters it does not read
    "limit=0005",
]
UNUSUAL_QUERIES = [
    "interval=",
    "interval=2h",
    "interval=1H",
    "limit=",
    "limit=0",
    "limit=5001",
    "limit=%2B5",
    "limit=5.0",
    "limit=%205",
    "limit=١٢",  # digits, but not ASCII ones
    "order=DESC",
    "start=",
    "start=2024-01-01",
    "start=2024-01-01T00:00:00",
    "start=2024-02-30T00:00:00Z",
    "start=2024-01-02T00:00:00Z&end=2024-01-01T00:00:00Z",
    "start=2024-01-01T00:00:00Z&end=2024-01-01T00:00:00Z",
]


@pytest.mark.parametrize("query", USUAL_QUERIES + UNUSUAL_QUERIES)
def test_the_lean_query_reader_agrees_with_the_serializer(query):
    from django.http import QueryDict

    from prices.serializers import CandleQuerySerializer, read_candle_query

    read = read_candle_query(QueryDict(query))
    judged = CandleQuerySerializer(data=QueryDict(query))
    valid = judged.is_valid()
    if query in USUAL_QUERIES:
        assert read is not None
        assert valid
        assert read == dict(judged.validated_data)
    else:
        assert read is None  # the serializer decides: here mostly a 400
