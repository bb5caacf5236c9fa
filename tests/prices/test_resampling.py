"""Exact resampling: every derived interval checked against pandas on the real demo candles."""

import io
from datetime import UTC, datetime

import pandas as pd
import pytest
from django.core.management import call_command

from prices.models import CandleRollup
from prices.services import CandleIn, upsert_candles
from tests.prices.demo import DEMO_DIR
from tests.prices.history import load_demo, unthrottled, walk

__all__ = ["unthrottled"]  # the fixture, imported to be found

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unthrottled")]

RULES = {"5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h", "4h": "4h",
         "1d": "1D", "1w": "W-MON", "1M": "MS"}  # fmt: skip


def pandas_resample(file: str, interval: str) -> pd.DataFrame:
    """The independent computation: pandas, on the raw file, left-closed and left-labelled."""
    frame = pd.read_csv(
        DEMO_DIR / file, parse_dates=["timestamp"], index_col="timestamp"
    )
    frame = frame.sort_index()
    rule = RULES[interval]
    kwargs = {"label": "left", "closed": "left"}
    if interval not in ("1d", "1w", "1M"):  # days, weeks, months align by calendar
        kwargs["origin"] = "epoch"
    out = frame.resample(rule, **kwargs).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    counts = frame["open"].resample(rule, **kwargs).count()
    return out[counts > 0]  # buckets only from candles that exist


def api_frame(candles: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(candles)
    frame.index = pd.to_datetime(frame.pop("open_time"), utc=True)
    frame.index.name = "timestamp"
    return frame[["open", "high", "low", "close", "volume"]]


def assert_same(api: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(api.index) == list(expected.index)
    pd.testing.assert_frame_equal(api, expected, check_exact=False, rtol=1e-12,
                                  check_freq=False, check_names=False)  # fmt: skip


@pytest.mark.parametrize("interval", ["5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M"])
def test_intervals_derived_from_real_1m_candles_match_pandas(api_client, eth, interval):
    load_demo(eth, "binance_2018-06_ETH-USDT_1m.csv.gz")
    candles = walk(api_client, "ETH", interval=interval, limit=7)
    assert_same(
        api_frame(candles),
        pandas_resample("binance_2018-06_ETH-USDT_1m.csv.gz", interval),
    )


@pytest.mark.parametrize("interval", ["1w", "1M"])
def test_weeks_and_months_derived_from_real_daily_candles_match_pandas(
    api_client, btc, interval
):
    load_demo(btc, "binance_2020_ADA-USDT_1d.csv.gz")
    candles = walk(api_client, "BTC", interval=interval, limit=9)
    assert_same(
        api_frame(candles), pandas_resample("binance_2020_ADA-USDT_1d.csv.gz", interval)
    )


def test_4h_derived_from_stored_hours_matches_pandas_walking_backwards(api_client, btc):
    load_demo(btc, "binance_2018-06_NEO-USDT_1h.csv.gz")
    candles = walk(api_client, "BTC", interval="4h", limit=50, order="desc")
    expected = pandas_resample("binance_2018-06_NEO-USDT_1h.csv.gz", "4h")
    assert_same(api_frame(candles[::-1]), expected)


def test_a_stored_interval_is_served_as_stored_not_derived(api_client, btc):
    # Demo BTC: 1h from Coinbase and 1m from Binance overlap on 2018-06-18.
    load_demo(btc, "coinbase_BTC-USD_1h.csv.gz", "binance_2018-06_BTC-USDT_1m.csv.gz")
    start, end = "2018-06-18T05:00:00Z", "2018-06-18T21:00:00Z"
    body = api_client.get(
        f"/api/v1/prices/BTC/candles/?interval=1h&start={start}&end={end}"
    ).json()
    assert body["stored_interval"] == "1h"
    coinbase = pd.read_csv(DEMO_DIR / "coinbase_BTC-USD_1h.csv.gz", parse_dates=["timestamp"],
                           index_col="timestamp").sort_index()[start:"2018-06-18T20:00:00Z"]  # fmt: skip
    assert_same(api_frame(body["results"]), coinbase)
    five = api_client.get(
        f"/api/v1/prices/BTC/candles/?interval=5m&start={start}"
    ).json()
    assert five["stored_interval"] == "1m"


def test_an_interval_nothing_stored_divides_comes_back_empty(api_client, btc):
    load_demo(btc, "binance_2024-03_BNB-USDT_4h.csv.gz")
    body = api_client.get("/api/v1/prices/BTC/candles/?interval=1h").json()
    assert (body["results"], body["stored_interval"], body["next"]) == ([], None, None)


def rollup_frame(asset, interval: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = CandleRollup.objects.filter(asset=asset, interval=interval).order_by(
        "open_time"
    )
    frame = pd.DataFrame.from_records(
        rows.values("open_time", "open", "high", "low", "close", "volume"),
        index="open_time",
    )
    return frame


@pytest.mark.parametrize("interval", ["1h", "1d"])
def test_stored_rollups_are_exact_after_an_import(eth, interval):
    load_demo(eth, "binance_2018-06_ETH-USDT_1m.csv.gz")
    assert_same(rollup_frame(eth, interval),
                pandas_resample("binance_2018-06_ETH-USDT_1m.csv.gz", interval))  # fmt: skip


def test_rollups_follow_new_and_corrected_candles(btc):
    t0 = datetime(2024, 3, 1, 10, tzinfo=UTC)

    def minute(m: int, high: float) -> CandleIn:
        return CandleIn(t0.replace(minute=m), 100.0, high, 90.0, 95.0, 1.0)

    upsert_candles(asset=btc, interval="1m", rows=[minute(0, 110.0)], source="t")
    upsert_candles(asset=btc, interval="1m", rows=[minute(59, 120.0)], source="t")
    hour = CandleRollup.objects.get(asset=btc, interval="1h")
    assert (hour.open_time, hour.high, hour.volume, hour.candles) == (t0, 120.0, 2.0, 2)
    upsert_candles(asset=btc, interval="1m", rows=[minute(59, 101.0)], source="t")
    day = CandleRollup.objects.get(asset=btc, interval="1d")
    assert (day.high, day.close, day.candles) == (110.0, 95.0, 2)
    # A native 1h candle lives in its own table: no clash with the rollup.
    upsert_candles(
        asset=btc, interval="1h", rows=[CandleIn(t0, 1, 2, 1, 2, 3)], source="x"
    )
    assert CandleRollup.objects.get(asset=btc, interval="1h").high == 110.0


def test_the_rollups_can_be_rebuilt_from_the_candles(eth):
    load_demo(eth, "binance_2018-06_ETH-USDT_1m.csv.gz")
    expected = rollup_frame(eth, "1h")
    CandleRollup.objects.all().delete()
    out = io.StringIO()
    call_command("refresh_rollups", "eth", stdout=out)
    assert out.getvalue().startswith("ETH: rollups rebuilt 2018-06-18")
    assert_same(rollup_frame(eth, "1h"), expected)
