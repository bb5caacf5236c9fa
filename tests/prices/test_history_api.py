"""GET /api/v1/prices/{symbol}/candles/: paging, bad input, CSV, ETag, caching."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from prices.models import Candle
from prices.services import CandleIn, upsert_candles
from tests.prices.history import URL, load_demo, unthrottled, walk
from tests.servers import redis_at

__all__ = ["unthrottled"]  # the fixture, imported to be found

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unthrottled")]

BTC_URL = URL.format(symbol="BTC")
ETH_1M = "binance_2018-06_ETH-USDT_1m.csv.gz"


@pytest.fixture
def eth_minutes(eth):  # type: ignore[no-untyped-def]
    load_demo(eth, ETH_1M)
    return eth


def stored_open_times(asset, interval: str) -> list[datetime]:  # type: ignore[no-untyped-def]
    return list(
        Candle.objects.filter(asset=asset, interval=interval)
        .order_by("open_time")
        .values_list("open_time", flat=True)
    )


def times(candles: list[dict]) -> list[datetime]:
    return [datetime.fromisoformat(c["open_time"]) for c in candles]


@pytest.mark.parametrize("limit", [1, 7, 333, 1000, 5000])
def test_walking_all_pages_returns_every_candle_once_in_order(
    api_client, eth_minutes, limit
):
    assert times(
        walk(api_client, "ETH", interval="1m", limit=limit)
    ) == stored_open_times(eth_minutes, "1m")


@pytest.mark.parametrize("limit", [1, 13, 999])
def test_walking_backwards_returns_every_candle_once_newest_first(
    api_client, eth_minutes, limit
):
    candles = walk(api_client, "ETH", interval="1m", limit=limit, order="desc")
    assert times(candles) == stored_open_times(eth_minutes, "1m")[::-1]


def test_walking_a_range_of_derived_candles_covers_it_exactly(api_client, eth_minutes):
    start, end = "2018-06-18T06:07:00Z", "2018-06-18T19:52:00Z"
    candles = walk(api_client, "ETH", interval="15m", limit=4, start=start, end=end)
    opens = times(candles)
    # Buckets opening in [start, end): 06:15 (first aligned) .. 19:45.
    assert opens[0] == datetime(2018, 6, 18, 6, 15, tzinfo=UTC)
    assert opens[-1] == datetime(2018, 6, 18, 19, 45, tzinfo=UTC)
    assert opens == sorted(set(opens))
    assert len(opens) == 55


def test_start_is_inclusive_and_end_exclusive(api_client, eth_minutes):
    body = api_client.get(BTC_URL.replace("BTC", "ETH"), {
        "interval": "1m", "start": "2018-06-18T05:00:00Z", "end": "2018-06-18T05:03:00Z"
    }).json()  # fmt: skip
    assert [c["open_time"] for c in body["results"]] == [
        "2018-06-18T05:00:00Z", "2018-06-18T05:01:00Z", "2018-06-18T05:02:00Z"
    ]  # fmt: skip
    assert body["results"][0]["close_time"] == "2018-06-18T05:01:00Z"
    assert body["next"] is None


def test_a_candle_has_the_documented_fields(api_client, eth_minutes):
    candle = api_client.get(
        URL.format(symbol="eth"), {"interval": "1m", "limit": 1}
    ).json()
    assert candle["symbol"] == "ETH"
    assert candle["quote"] == "USD"
    assert set(candle["results"][0]) == {
        "open_time", "close_time", "open", "high", "low", "close", "volume", "is_closed"
    }  # fmt: skip


def test_gaps_are_reported_not_filled(api_client, btc):
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    rows = [CandleIn(t0 + timedelta(minutes=m), 10, 11, 9, 10, 1) for m in (0, 1, 5, 6)]
    upsert_candles(asset=btc, interval="1m", rows=rows, source="t")
    body = api_client.get(BTC_URL, {"interval": "1m"}).json()
    assert body["count"] == 4
    assert body["gaps"] == [
        {"start": "2024-03-01T00:02:00Z", "end": "2024-03-01T00:05:00Z"}
    ]


def test_the_candle_still_forming_is_not_closed(api_client, btc):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = [
        CandleIn(now - timedelta(minutes=1), 10, 11, 9, 10, 1),
        CandleIn(now, 10, 11, 9, 10, 1),
    ]
    upsert_candles(asset=btc, interval="1m", rows=rows, source="t")
    results = api_client.get(BTC_URL, {"interval": "1m"}).json()["results"]
    assert [c["is_closed"] for c in results] == [True, False]
    hour = api_client.get(BTC_URL, {"interval": "1d"}).json()["results"]
    assert hour[-1]["is_closed"] is False


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "4x"}, "interval"),
        (
            {
                "interval": "1m",
                "start": "2024-02-02T00:00:00Z",
                "end": "2024-02-01T00:00:00Z",
            },
            "end",
        ),
        ({"start": "2024-02-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2024-13-01T00:00:00Z"}, "end"),
        ({"start": "2024-02-01T00:00:00"}, "start"),  # no zone
        ({"start": "9999-12-31T23:59:59Z"}, "start"),
        ({"limit": "0"}, "limit"),
        ({"limit": "5001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client, btc, params, field):
    response = api_client.get(BTC_URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


@pytest.mark.parametrize("symbol", ["B$C", "-BTC", "A" * 21, "BT%20C"])
def test_a_malformed_symbol_is_a_400(api_client, symbol):
    response = api_client.get(f"/api/v1/prices/{symbol}/candles/")
    assert response.status_code == 400
    assert "symbol" in response.json()["error"]["details"]


def test_an_unknown_symbol_is_a_404_in_the_envelope(api_client, db):
    response = api_client.get(URL.format(symbol="NOPE"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("how", ["format", "accept"])
def test_csv_gives_the_same_rows_as_json(api_client, eth_minutes, how):
    params = {"interval": "5m", "limit": 40, "start": "2018-06-18T06:00:00Z"}
    url = URL.format(symbol="ETH")
    if how == "format":
        response = api_client.get(url, {**params, "format": "csv"})
    else:
        response = api_client.get(url, params, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    )
    as_json = api_client.get(url, params).json()
    assert len(rows) == 40
    for row, candle in zip(rows, as_json["results"], strict=True):
        assert row["open_time"] == candle["open_time"]
        assert row["close_time"] == candle["close_time"]
        for name in ("open", "high", "low", "close", "volume"):
            assert float(row[name]) == candle[name]
    assert response["Link"] == f'<{as_json["next"]}>; rel="next"'


def test_errors_stay_json_when_csv_was_asked_for(api_client, btc):
    response = api_client.get(BTC_URL, {"format": "csv", "limit": "0"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["limit"]


def test_history_carries_an_etag_and_answers_if_none_match_with_304(
    api_client, eth_minutes
):
    url = URL.format(symbol="ETH")
    first = api_client.get(url, {"interval": "1h"})
    etag = first["ETag"]
    again = api_client.get(url, {"interval": "1h"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    other = api_client.get(url, {"interval": "1h"}, HTTP_IF_NONE_MATCH='"stale"')
    assert other.status_code == 200
    assert other.content == first.content


def test_new_candles_make_cached_history_stale(
    api_client, btc, django_capture_on_commit_callbacks
):
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    upsert_candles(
        asset=btc, interval="1m", rows=[CandleIn(t0, 10, 11, 9, 10, 1)], source="t"
    )
    first = api_client.get(BTC_URL, {"interval": "1h"})
    cached = api_client.get(BTC_URL, {"interval": "1h"})
    assert (first["X-Cache"], cached["X-Cache"]) == ("MISS", "HIT")
    assert cached.content == first.content
    later = CandleIn(t0 + timedelta(minutes=1), 10, 15, 9, 12, 2)
    with django_capture_on_commit_callbacks(execute=True):
        upsert_candles(asset=btc, interval="1m", rows=[later], source="t")
    fresh = api_client.get(BTC_URL, {"interval": "1h"})
    assert fresh["X-Cache"] == "MISS"
    assert fresh["ETag"] != first["ETag"]
    assert fresh.json()["results"][0] | {} == {
        **fresh.json()["results"][0], "high": 15.0, "close": 12.0, "volume": 3.0
    }  # fmt: skip


def test_history_is_served_from_postgresql_when_redis_is_down(
    api_client, eth_minutes, settings
):
    redis_at(settings, "redis://127.0.0.1:1/0")
    response = api_client.get(URL.format(symbol="ETH"), {"interval": "1h", "limit": 5})
    assert response.status_code == 200
    assert response["X-Cache"] == "MISS"
    assert response.json()["count"] == 5
    assert "X-RateLimit-Limit" not in response  # nothing could be counted; not refused


def test_a_request_that_would_aggregate_too_many_rows_is_a_400_naming_limit(
    api_client, btc, settings
):
    """1M candles from stored 5m rows read up to 8,928 rows each: the largest limit that
    fits the bound is served, one more is refused before any row is read."""
    settings.HISTORY_MAX_AGGREGATED_ROWS = 600_000
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    upsert_candles(
        asset=btc,
        interval="5m",
        source="t",
        rows=[
            CandleIn(t0 + timedelta(minutes=5 * i), 1, 2, 0.5, 1.5, 1)
            for i in range(12)
        ],
    )
    fits = 600_000 // 8928 - 2
    ok = api_client.get(BTC_URL, {"interval": "1M", "limit": fits})
    assert ok.status_code == 200
    assert [c["open_time"] for c in ok.json()["results"]] == ["2024-01-01T00:00:00Z"]
    refused = api_client.get(BTC_URL, {"interval": "1M", "limit": fits + 1})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["limit"]
    assert f"at most {fits} per request" in error["details"]["limit"][0]
