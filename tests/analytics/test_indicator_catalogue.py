"""The catalogue (generated from TA-Lib's metadata), every entry callable on real
candles, and the warm-up rule: values from `start` equal a computation over the whole
stored history, for every catalogue function with its defaults.

The whole-history computation here is TA-Lib's own (what is checked is which candles the
endpoint feeds it, not TA-Lib's formulas; those are checked against independent code in
test_indicators_api.py).
"""

import numpy as np
import pandas as pd
import pytest
from talib import abstract

from analytics import indicators
from analytics.indicators.catalogue import catalogue
from tests.prices.history import load_demo, unthrottled, walk

__all__ = ["unthrottled"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unthrottled")]

URL = "/api/v1/analytics/indicators/"
START, END = "2019-01-01T00:00:00Z", "2019-03-01T00:00:00Z"


def test_the_catalogue_lists_every_ohlcv_function_with_talib_ranges(api_client):
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    entries = {e["name"]: e for e in body["results"]}
    assert body["count"] == len(entries) >= 150
    # Every TA-Lib function but MAVP (its `periods` input is not an OHLCV series).
    from talib import get_functions

    assert {n.lower() for n in get_functions()} - set(entries) == {"mavp"}
    rsi = entries["rsi"]
    assert rsi["group"] == "Momentum Indicators"
    assert rsi["inputs"] == ["close"]
    assert rsi["outputs"] == ["rsi"]
    (period,) = rsi["parameters"]
    assert (period["name"], period["type"], period["default"]) == (
        "timeperiod",
        "integer",
        14,
    )
    assert (period["minimum"], period["maximum"]) == (2, 100000)
    assert entries["macd"]["outputs"] == ["macd", "macd_signal", "macd_hist"]
    assert entries["bbands"]["outputs"] == ["bb_upper", "bb_middle", "bb_lower"]
    matype = next(p for p in entries["bbands"]["parameters"] if p["name"] == "matype")
    assert matype["choices"]["0"] == "SMA"
    assert matype["choices"]["1"] == "EMA"
    assert entries["t3"]["parameters"][1]["maximum"] == 1.0
    assert entries["vwap"]["talib_name"] is None
    assert "cumulative" in entries["vwap"]["description"]
    assert entries["ema"]["warmup"] == "recursive"
    assert entries["sma"]["warmup"] == "finite"
    assert entries["obv"]["warmup"] == "cumulative"
    assert body["limits"]["indicators"] == indicators.MAX_INDICATORS


@pytest.fixture
def btc_hourly(btc):  # type: ignore[no-untyped-def]
    load_demo(btc, "coinbase_BTC-USD_1h.csv.gz")
    return btc


def whole_history(client) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    candles = walk(client, "BTC", interval="1h", limit=5000)
    frame = pd.DataFrame(candles)
    out = {
        k: frame[k].to_numpy(dtype=float)
        for k in ("open", "high", "low", "close", "volume")
    }
    out["open_time"] = frame["open_time"].to_numpy()
    return out


def expected_outputs(name: str, data: dict[str, np.ndarray]) -> list[np.ndarray]:
    function = abstract.Function(name.upper())
    result = function({k: v for k, v in data.items() if k != "open_time"})
    return result if isinstance(result, list) else [result]


def test_every_function_runs_with_defaults_and_its_warmup_reaches_the_whole_history(
    api_client, btc_hourly
):
    data = whole_history(api_client)
    times = data["open_time"]
    inside = (times >= START) & (times < END)
    first = int(np.flatnonzero(inside)[0])
    range_only = {k: v[inside] for k, v in data.items()}
    names = [n for n in catalogue() if n != "vwap"]
    failures = []
    for batch in range(0, len(names), indicators.MAX_INDICATORS):
        wanted = names[batch : batch + indicators.MAX_INDICATORS]
        response = api_client.get(
            f"{URL}BTC/",
            {
                "interval": "1h",
                "start": START,
                "end": END,
                "indicators": ",".join(wanted),
            },
        )
        assert response.status_code == 200, response.content
        rows = response.json()["results"]
        assert [r["open_time"] for r in rows] == list(times[inside])
        for name in wanted:
            indicator = catalogue()[name]
            if name in indicators.CUMULATIVE:  # anchored at the range start
                expected = [e for e in expected_outputs(name, range_only)]
            else:
                expected = [
                    e[first:][: len(rows)] for e in expected_outputs(name, data)
                ]
            for output, want in zip(indicator.outputs, expected, strict=True):
                got = np.array([np.nan if r[output] is None else r[output] for r in rows]
                               if name not in indicators.INDEX_OUTPUTS else
                               [r[output] for r in rows], dtype=object)  # fmt: skip
                if name in indicators.INDEX_OUTPUTS:
                    source = data if name not in indicators.CUMULATIVE else range_only
                    want = source["open_time"][want.astype(int)]
                    if list(got) != list(want):
                        failures.append(output)
                    continue
                got = got.astype(float)
                want = want.astype(float)
                want[~np.isfinite(want)] = np.nan  # JSON has no infinity: null
                scale = np.nanmax(np.abs(want)) if np.isfinite(want).any() else 1.0
                ok = np.isclose(got, want, rtol=1e-6, atol=1e-9 * scale) | (
                    np.isnan(got) & np.isnan(want)
                )
                if not ok.all():
                    failures.append(f"{output}: {int((~ok).sum())} rows differ")
    assert failures == []
