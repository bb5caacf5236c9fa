"""GET /api/v1/analytics/indicators/{symbol}/ against an independent computation.

The candles come from the real demo files through the real import path; the reference
values are computed in the test (tests/analytics/reference.py) over every candle the
history API serves for the interval, i.e. over the whole stored history, while the
endpoint is asked for a range that starts mid-history (so its warm-up is what is tested).
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from prices.services import CandleIn, upsert_candles
from tests.analytics import reference
from tests.prices.history import load_demo, unthrottled, walk

__all__ = ["unthrottled"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unthrottled")]

URL = "/api/v1/analytics/indicators/{symbol}/"
BTC_1D = "coinbase_BTC-USD_1d.csv.gz"
BTC_1H = "coinbase_BTC-USD_1h.csv.gz"


@pytest.fixture
def btc_daily(btc):  # type: ignore[no-untyped-def]
    load_demo(btc, BTC_1D)
    return btc


@pytest.fixture
def btc_hourly(btc):  # type: ignore[no-untyped-def]
    load_demo(btc, BTC_1H)
    return btc


def history(client, interval: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Every candle of the interval, as the history API serves them."""
    candles = walk(client, "BTC", interval=interval, limit=5000)
    frame = pd.DataFrame(candles)
    frame.index = pd.to_datetime(frame["open_time"])
    return frame[["open", "high", "low", "close", "volume"]].astype(float)


def get(client, **params):  # type: ignore[no-untyped-def]
    return client.get(URL.format(symbol=params.pop("symbol", "BTC")), params)


def column(body: dict, name: str) -> pd.Series:
    rows = body["results"]
    index = pd.to_datetime([r["open_time"] for r in rows])
    return pd.Series(
        [np.nan if r[name] is None else r[name] for r in rows], index=index
    )


def assert_matches(body: dict, name: str, expected: pd.Series) -> None:
    got = column(body, name)
    want = expected.reindex(got.index)
    assert not got.isna().any(), f"{name}: nulls where history suffices"
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, err_msg=name)


PARAMETER_SETS = [
    {"rsi": 14, "fast": 12, "slow": 26, "signal": 9, "bb": 20, "k": 2.0, "sma": 20,
     "ema": 30, "atr": 14},
    {"rsi": 7, "fast": 5, "slow": 35, "signal": 5, "bb": 10, "k": 1.5, "sma": 50,
     "ema": 10, "atr": 21},
    {"rsi": 30, "fast": 19, "slow": 39, "signal": 12, "bb": 40, "k": 3.0, "sma": 5,
     "ema": 60, "atr": 5},
]  # fmt: skip


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        # Stored daily candles, across the 12-day hole of 2019-03-20 .. 03-31.
        ("1d", "2018-06-01T00:00:00Z", "2019-10-18T00:00:00Z"),
        # Weekly candles aggregated from the stored daily ones.
        ("1w", "2017-01-02T00:00:00Z", "2019-10-14T00:00:00Z"),
    ],
)
@pytest.mark.parametrize("p", PARAMETER_SETS)
def test_daily_and_weekly_indicators_equal_an_independent_computation(
    api_client, btc_daily, p, interval, start, end
):
    response = get(
        api_client, interval=interval, start=start, end=end,
        indicators="sma,ema,rsi,macd,bbands,atr,obv,vwap",
        sma_period=p["sma"], ema_period=p["ema"], rsi_period=p["rsi"],
        macd_fast=p["fast"], macd_slow=p["slow"], macd_signal=p["signal"],
        bbands_period=p["bb"], bbands_std=p["k"], atr_period=p["atr"],
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    candles = history(api_client, interval)
    close = candles["close"]
    in_range = candles[(candles.index >= start) & (candles.index < end)]
    assert [r["open_time"] for r in body["results"]] == [
        t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in in_range.index
    ]
    assert_matches(body, "sma", reference.sma(close, p["sma"]))
    assert_matches(body, "ema", reference.ema(close, p["ema"]))
    assert_matches(body, "rsi", reference.rsi(close, p["rsi"]))
    expected_macd = reference.macd(close, p["fast"], p["slow"], p["signal"])
    for name in ("macd", "macd_signal", "macd_hist"):
        assert_matches(body, name, expected_macd[name])
    bands = reference.bollinger(close, p["bb"], p["k"])
    for name in ("bb_upper", "bb_middle", "bb_lower"):
        assert_matches(body, name, bands[name])
    assert_matches(body, "atr", reference.atr(candles, p["atr"]))
    # Cumulative ones are anchored at the range start.
    assert_matches(body, "obv", reference.obv(in_range))
    assert_matches(body, "vwap", reference.vwap(in_range))
    assert body["parameters"]["rsi"] == {"timeperiod": p["rsi"]}
    assert body["parameters"]["bbands"]["nbdevup"] == p["k"]
    assert all(w["null_rows"] == 0 for w in body["warmup"].values())


def test_hourly_candles_aggregated_to_4h_equal_an_independent_computation(
    api_client, btc_hourly
):
    start, end = "2018-09-01T00:00:00Z", "2019-06-01T00:00:00Z"
    response = get(
        api_client, interval="4h", start=start, end=end,
        indicators="rsi,macd,atr", rsi_period=9,
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stored_interval"] == "1h"
    candles = history(api_client, "4h")
    assert_matches(body, "rsi", reference.rsi(candles["close"], 9))
    assert_matches(
        body, "macd_hist", reference.macd(candles["close"], 12, 26, 9)["macd_hist"]
    )
    assert_matches(body, "atr", reference.atr(candles, 14))


def test_a_gap_is_listed_and_not_filled(api_client, btc_daily):
    body = get(
        api_client, interval="1d", indicators="sma", sma_period=3,
        start="2019-03-15T00:00:00Z", end="2019-04-05T00:00:00Z",
    ).json()  # fmt: skip
    times = [r["open_time"] for r in body["results"]]
    assert "2019-03-25T00:00:00Z" not in times
    assert body["gaps"] == [
        {"start": "2019-03-20T00:00:00Z", "end": "2019-04-01T00:00:00Z"}
    ]
    # The SMA after the hole averages the candles that exist: 03-18, 03-19, 04-01.
    closes = {t: r for t, r in zip(times, body["results"], strict=True)}
    assert closes["2019-04-01T00:00:00Z"]["sma"] is not None
    assert len(times) == 21 - 12


def test_labelled_instances_each_equal_an_independent_computation(
    api_client, btc_daily
):
    start, end = "2018-06-01T00:00:00Z", "2019-10-18T00:00:00Z"
    params = {
        "indicators": "sma,sma:slow,bbands:wide,macd_hist:fast,macd_hist",
        "sma_period": 20,
        "sma:slow.timeperiod": 50,
        "bbands_period:wide": 30,  # friendly, labelled
        "bbands:wide.nbdevup": 3,
        "bbands:wide.nbdevdn": 3,
        "macd:fast.fastperiod": 5,
        "macd:fast.slowperiod": 13,
    }
    response = get(api_client, interval="1d", start=start, end=end, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["results"][0]) == {
        "open_time", "sma", "sma:slow", "bb_upper:wide", "bb_middle:wide",
        "bb_lower:wide", "macd_hist:fast", "macd_hist",
    }  # fmt: skip
    close = history(api_client, "1d")["close"]
    assert_matches(body, "sma", reference.sma(close, 20))
    assert_matches(body, "sma:slow", reference.sma(close, 50))
    bands = reference.bollinger(close, 30, 3.0)
    for name in ("bb_upper", "bb_middle", "bb_lower"):
        assert_matches(body, f"{name}:wide", bands[name])
    assert_matches(body, "macd_hist", reference.macd(close, 12, 26, 9)["macd_hist"])
    assert_matches(body, "macd_hist:fast", reference.macd(close, 5, 13, 9)["macd_hist"])
    assert body["parameters"]["sma:slow"] == {"timeperiod": 50}
    assert body["parameters"]["sma"] == {"timeperiod": 20}
    assert set(body["warmup"]) == {
        "sma",
        "sma:slow",
        "bbands:wide",
        "macd:fast",
        "macd",
    }
    # Same indicator, same parameters, another label: not the first one's cached body.
    relabelled = get(
        api_client, interval="1d", start=start, end=end, indicators="sma:other",
        **{"sma:other.timeperiod": 20},
    ).json()  # fmt: skip
    assert [r["sma:other"] for r in relabelled["results"]] == [
        r["sma"] for r in body["results"]
    ]


def test_asking_for_one_output_returns_only_it(api_client, btc_daily):
    body = get(
        api_client, indicators="macd_hist,bb_upper",
        start="2019-01-01T00:00:00Z", end="2019-01-10T00:00:00Z",
    ).json()  # fmt: skip
    assert set(body["results"][0]) == {"open_time", "macd_hist", "bb_upper"}


def test_too_little_history_gives_leading_nulls_with_the_reason(api_client, btc_daily):
    # The first stored daily candle opens 2014-12-01: five candles precede 12-06.
    body = get(
        api_client, indicators="rsi,sma,obv", rsi_period=14, sma_period=3,
        start="2014-12-06T00:00:00Z", end="2015-01-06T00:00:00Z",
    ).json()  # fmt: skip
    rows = body["results"]
    assert [r["rsi"] is None for r in rows[:10]] == [True] * 9 + [False]
    assert body["warmup"]["rsi"]["null_rows"] == 9
    assert body["warmup"]["rsi"]["available"] == 5
    assert "needs 14 earlier candles" in body["warmup"]["rsi"]["reason"]
    assert body["warmup"]["sma"]["null_rows"] == 0
    assert body["warmup"]["obv"]["anchored_at_start"] is True


def test_a_range_before_any_candle_is_empty(api_client, btc_daily):
    body = get(
        api_client, indicators="rsi", start="2010-01-01T00:00:00Z",
        end="2010-02-01T00:00:00Z",
    ).json()  # fmt: skip
    assert body["results"] == []
    assert body["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"indicators": "nope"}, "indicators"),
        ({"indicators": ""}, "indicators"),
        ({"indicators": ",".join(["sma", "ema", "rsi", "macd", "bbands", "atr",
                                  "obv", "vwap", "adx", "cci", "mfi"])}, "indicators"),
        ({"indicators": "rsi", "rsi.nope": "3"}, "rsi.nope"),
        ({"indicators": "rsi", "nope.timeperiod": "3"}, "nope.timeperiod"),
        ({"indicators": "rsi", "colour": "red"}, "colour"),
        ({"indicators": "rsi", "macd_fast": "5"}, "macd_fast"),
        ({"indicators": "rsi", "rsi_period": "1"}, "rsi_period"),
        ({"indicators": "rsi", "rsi_period": "100001"}, "rsi_period"),
        ({"indicators": "rsi", "rsi_period": "abc"}, "rsi_period"),
        ({"indicators": "t3", "t3.vfactor": "1.5"}, "t3.vfactor"),
        ({"indicators": "bbands", "bbands.matype": "99"}, "bbands.matype"),
        ({"indicators": "ema", "ema_period": "5000"}, "ema"),
        ({"indicators": "rsi", "interval": "7m"}, "interval"),
        ({"indicators": "rsi", "start": "yesterday"}, "start"),
        ({"indicators": "rsi", "start": "2019-01-01T00:00:00"}, "start"),
        ({"indicators": "rsi", "start": "2019-01-02T00:00:00Z",
          "end": "2019-01-01T00:00:00Z"}, "end"),
        ({"indicators": "rsi", "interval": "1h", "start": "2019-01-01T00:00:00Z",
          "end": "2019-08-01T00:00:00Z"}, "end"),
        ({"indicators": "rsi", "symbol": "B@D"}, "symbol"),
        ({"indicators": "sma:"}, "indicators"),
        ({"indicators": "sma:Bad-label"}, "indicators"),
        ({"indicators": "sma:" + "x" * 21}, "indicators"),
        ({"indicators": "sma:slow", "sma_period": "5"}, "sma_period"),
        ({"indicators": "sma", "sma:slow.timeperiod": "5"}, "sma:slow.timeperiod"),
        ({"indicators": "rsi,rsi:slow", "rsi:slow.timeperiod": "1"},
         "rsi:slow.timeperiod"),
        ({"indicators": "ema:long", "ema:long.timeperiod": "5000"}, "ema:long"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(api_client, btc_daily, params, field):
    response = get(api_client, **params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error


def test_an_unknown_symbol_is_a_404(api_client, btc_daily):
    response = get(api_client, symbol="NOPE", indicators="rsi")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_5000_candles_is_the_limit(api_client, btc_hourly):
    start = datetime(2018, 1, 1, tzinfo=UTC)
    ok = get(api_client, interval="1h", indicators="rsi", start=start.isoformat(),
             end=(start + timedelta(hours=5000)).isoformat())  # fmt: skip
    over = get(api_client, interval="1h", indicators="rsi", start=start.isoformat(),
               end=(start + timedelta(hours=5001)).isoformat())  # fmt: skip
    assert ok.status_code == 200
    assert over.status_code == 400


def test_cached_until_a_new_candle_arrives(
    api_client, btc_daily, django_capture_on_commit_callbacks
):
    params = {"indicators": "sma,obv", "sma_period": 3,
              "start": "2019-10-10T00:00:00Z", "end": "2019-10-20T00:00:00Z"}  # fmt: skip
    first = get(api_client, **params)
    second = get(api_client, **params)
    assert first["X-Cache"] == "MISS"
    assert second["X-Cache"] == "HIT"
    assert first.json() == second.json()
    last = first.json()["results"][-1]
    assert last["open_time"] == "2019-10-17T00:00:00Z"
    with django_capture_on_commit_callbacks(execute=True):
        upsert_candles(
            asset=btc_daily, interval="1d", source="test",
            rows=[CandleIn(open_time=datetime(2019, 10, 18, tzinfo=UTC), open=8000.0,
                           high=9000.0, low=7900.0, close=8900.0, volume=1234.0)],
        )  # fmt: skip
    third = get(api_client, **params)
    assert third["X-Cache"] == "MISS"
    rows = third.json()["results"]
    assert rows[-1]["open_time"] == "2019-10-18T00:00:00Z"
    assert rows[-1]["obv"] == pytest.approx(last["obv"] + 1234.0)
    assert rows[-1]["sma"] != last["sma"]
    assert get(api_client, **params)["X-Cache"] == "HIT"


def test_other_assets_candles_do_not_invalidate(
    api_client, btc_daily, eth, django_capture_on_commit_callbacks
):
    params = {"indicators": "sma", "start": "2019-10-10T00:00:00Z",
              "end": "2019-10-20T00:00:00Z"}  # fmt: skip
    get(api_client, **params)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load_demo(eth, "coinbase_ETH-USD_1d.csv.gz")
    assert callbacks  # the version bump ran, for ETH only
    assert get(api_client, **params)["X-Cache"] == "HIT"


def test_values_never_read_later_candles(api_client, btc_daily):
    """A value at T is the same whether the range ends just after T or a year later."""
    short = get(api_client, indicators="rsi,macd,bbands,atr,kama,sar",
                start="2018-01-01T00:00:00Z", end="2018-02-01T00:00:00Z").json()  # fmt: skip
    long = get(api_client, indicators="rsi,macd,bbands,atr,kama,sar",
               start="2018-01-01T00:00:00Z", end="2019-02-01T00:00:00Z").json()  # fmt: skip
    assert long["results"][: len(short["results"])] == short["results"]
