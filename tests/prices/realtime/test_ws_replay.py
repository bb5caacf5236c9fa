"""`/ws/replay/` end to end: stored candles replayed in order, controls, bad parameters."""

import csv
import gzip
import time
from datetime import datetime

import pytest

from assets.models import Asset
from prices.importing import import_candle_file
from tests.prices.demo import DEMO_DIR
from tests.prices.realtime.wsclient import (
    closed_with,
    connect,
    nothing_within,
    receive,
    send,
)

pytestmark = pytest.mark.django_db(transaction=True)

# 1000 real hourly ETH/USDT candles from Binance (data/demo/README.md).
CANDLE_FILE = DEMO_DIR / "binance_2018-06_ETH-USDT_1h.csv.gz"


def file_candles() -> list[dict]:
    """The file read independently of the importer, ordered by open time."""
    with gzip.open(CANDLE_FILE, "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return sorted(
        (
            {
                "open_time": r["timestamp"],
                **{k: float(r[k]) for k in ("open", "high", "low", "close", "volume")},
            }
            for r in rows
        ),
        key=lambda c: datetime.fromisoformat(c["open_time"]),
    )


@pytest.fixture
def eth_hours(eth: Asset) -> list[dict]:
    result = import_candle_file(path=CANDLE_FILE, asset=eth, interval="1h", source="t")
    assert result.inserted == 1000
    return file_candles()


def replay_url(ws_url: str, **query: str) -> str:
    return f"{ws_url}/ws/replay/?" + "&".join(f"{k}={v}" for k, v in query.items())


async def test_a_replay_sends_the_stored_candles_exactly_in_order(ws_url, eth_hours):
    url = replay_url(ws_url, symbol="eth", interval="1h", speed="100000")
    async with connect(url) as ws:
        starting = await receive(ws)
        assert starting == {
            "type": "status",
            "status": "starting",
            "total": 1000,
            "symbol": "ETH",
            "interval": "1h",
            "start": "2000-01-01T00:00:00Z",
            "end": starting["end"],
            "speed": 100000.0,
        }
        candles = [await receive(ws) for _ in range(1000)]
        assert [c["seq"] for c in candles] == list(range(1000))
        assert [
            {k: c[k] for k in ("open_time", "open", "high", "low", "close", "volume")}
            for c in candles
        ] == eth_hours
        assert candles[0]["close_time"] == "2018-05-08T07:00:00Z"
        assert all(c["type"] == "candle" and c["is_closed"] for c in candles)
        done = await receive(ws)
        assert (done["status"], done["sent"], done["total"]) == ("complete", 1000, 1000)


async def test_a_replay_covers_start_inclusive_end_exclusive(ws_url, eth_hours):
    """The REST rule (ARCHITECTURE.md, time ranges): the candle opening exactly at
    `end` is not part of the range."""
    start, end = eth_hours[10]["open_time"], eth_hours[14]["open_time"]
    url = replay_url(
        ws_url, symbol="ETH", interval="1h", start=start, end=end, speed="1000"
    )
    async with connect(url) as ws:
        assert (await receive(ws))["total"] == 4
        candles = [await receive(ws) for _ in range(4)]
        assert [c["open_time"] for c in candles] == [
            c["open_time"] for c in eth_hours[10:14]
        ]
        done = await receive(ws)
        assert (done["status"], done["sent"]) == ("complete", 4)


async def test_pause_resume_seek_and_speed_change_the_running_replay(ws_url, eth_hours):
    url = replay_url(ws_url, symbol="ETH", interval="1h", speed="20")
    async with connect(url) as ws:
        assert (await receive(ws))["status"] == "starting"
        assert (await receive(ws))["seq"] == 0
        await send(ws, {"action": "pause", "id": 1})
        message = await receive(ws)
        while message["type"] == "candle":  # at most one was on its way
            message = await receive(ws)
        assert (message["status"], message["id"]) == ("paused", 1)
        assert await nothing_within(ws, 0.4)

        await send(ws, {"action": "seek", "time": eth_hours[500]["open_time"], "id": 2})
        seeked = await receive(ws)
        assert (seeked["status"], seeked["seq"]) == ("seeked", 500)
        assert await nothing_within(ws, 0.3)  # still paused

        await send(ws, {"action": "speed", "speed": 5000, "id": 3})
        assert (await receive(ws))["status"] == "speed"
        await send(ws, {"action": "resume", "id": 4})
        assert (await receive(ws))["status"] == "resumed"
        started = time.monotonic()
        rest = [await receive(ws) for _ in range(500)]
        # 500 candles at 20/s would take 25 s; at 5000/s they take about 0.1 s.
        assert time.monotonic() - started < 5
        assert [c["seq"] for c in rest] == list(range(500, 1000))
        assert [c["open_time"] for c in rest] == [
            c["open_time"] for c in eth_hours[500:]
        ]
        assert (await receive(ws))["status"] == "complete"


async def test_a_replay_runs_at_the_requested_pace(ws_url, eth_hours):
    url = replay_url(ws_url, symbol="ETH", interval="1h", speed="20")
    async with connect(url) as ws:
        await receive(ws)
        started = time.monotonic()
        for _ in range(21):
            await receive(ws)
        assert 0.8 < time.monotonic() - started < 2.0  # 20 intervals at 20 per second


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"interval": "1h"}, "symbol"),
        ({"symbol": "NOPE", "interval": "1h"}, "symbol"),
        ({"symbol": "ETH", "interval": "2h"}, "interval"),
        ({"symbol": "ETH", "interval": "1h", "start": "yesterday"}, "start"),
        ({"symbol": "ETH", "interval": "1h", "start": "2018-06-01T00:00:00"}, "start"),
        (
            {
                "symbol": "ETH",
                "interval": "1h",
                "start": "2018-06-02",
                "end": "2018-06-01",
            },
            "end",
        ),
        ({"symbol": "ETH", "interval": "1h", "speed": "0"}, "speed"),
        ({"symbol": "ETH", "interval": "1h", "speed": "fast"}, "speed"),
    ],
)
async def test_bad_replay_parameters_get_an_error_then_close_1008(
    ws_url, eth_hours, query, field
):
    async with connect(replay_url(ws_url, **query)) as ws:
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_parameters")
        assert list(error["details"]) == [field]
        assert (await closed_with(ws))[0] == 1008


async def test_bad_controls_are_refused_and_the_replay_goes_on(ws_url, eth_hours):
    url = replay_url(ws_url, symbol="ETH", interval="1h", speed="2")
    async with connect(url) as ws:
        await receive(ws)
        await send(ws, {"action": "seek", "time": "2030-01-01T00:00:00Z", "id": 1})
        message = await receive(ws)
        while message["type"] == "candle":
            message = await receive(ws)
        assert (message["code"], message["id"]) == ("invalid_time", 1)
        # Past the calendar's end once in UTC: refused, not a server fault.
        await send(ws, {"action": "seek", "time": "9999-12-31T23:59:59-23:59", "id": 5})
        message = await receive(ws)
        while message["type"] == "candle":
            message = await receive(ws)
        assert (message["code"], message["id"]) == ("invalid_time", 5)
        await send(ws, {"action": "speed", "speed": -1, "id": 2})
        message = await receive(ws)
        while message["type"] == "candle":
            message = await receive(ws)
        assert message["code"] == "invalid_speed"
        await send(ws, {"action": "rewind"})
        message = await receive(ws)
        while message["type"] == "candle":
            message = await receive(ws)
        assert message["code"] == "unknown_action"
        assert (await closed_with(ws))[0] == 1008
