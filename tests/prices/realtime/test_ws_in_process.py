"""What only the inside of the server shows: replay tasks end with their connection, and a
server fault closes with 1011. The real ASGI app and Redis, in this process."""

import asyncio

import orjson
import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from marketpulse.asgi import application
from prices.importing import import_candle_file
from prices.realtime.consumers import live, replay
from tests.prices.demo import DEMO_DIR

pytestmark = pytest.mark.django_db(transaction=True)


class WebsocketCommunicator(ApplicationCommunicator):
    """A minimal WebSocket client of an ASGI app (channels.testing would need daphne)."""

    def __init__(self, app, path: str) -> None:  # type: ignore[no-untyped-def]
        path, _, query = path.partition("?")
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.encode(),
            "headers": [],
            "client": ("127.0.0.1", 50000),
            "subprotocols": [],
        }
        super().__init__(app, scope)

    async def connect(self) -> bool:
        await self.send_input({"type": "websocket.connect"})
        return (await self.receive_output(5))["type"] == "websocket.accept"

    async def send_json_to(self, message: dict) -> None:
        await self.send_input(
            {"type": "websocket.receive", "text": orjson.dumps(message).decode()}
        )

    async def receive_json_from(self) -> dict:
        output = await self.receive_output(5)
        assert output["type"] == "websocket.send", output
        return orjson.loads(output["text"])

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(5)


def gauge(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def replay_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "replay" and not t.done()]


async def test_closing_the_socket_stops_its_replay_at_once(eth):
    await database_sync_to_async(import_candle_file)(
        path=DEMO_DIR / "binance_2018-06_ETH-USDT_1h.csv.gz",
        asset=eth,
        interval="1h",
        source="t",
    )
    running = gauge("marketpulse_replays_running")
    open_ = gauge("marketpulse_websocket_connections", stream="replay")
    socket = WebsocketCommunicator(application, "/ws/replay/?symbol=ETH&interval=1h")
    assert await socket.connect()
    starting = await socket.receive_json_from()
    # The total is null when counting took over 50 ms (a loaded machine); a `counted`
    # status then follows, possibly after the first candle.
    assert starting["total"] in (1000, None)
    first = await socket.receive_json_from()
    if first.get("status") == "counted":
        assert first["total"] == 1000
        first = await socket.receive_json_from()
    assert first["seq"] == 0
    assert len(replay_tasks()) == 1
    assert gauge("marketpulse_replays_running") == running + 1
    assert gauge("marketpulse_websocket_connections", stream="replay") == open_ + 1
    await socket.disconnect()
    await asyncio.sleep(0)
    assert replay_tasks() == []
    assert gauge("marketpulse_replays_running") == running
    assert gauge("marketpulse_websocket_connections", stream="replay") == open_


async def test_a_server_fault_sends_an_error_and_closes_1011(btc, monkeypatch):
    def broken(symbols):  # type: ignore[no-untyped-def]
        raise RuntimeError("database exploded")

    monkeypatch.setattr(live, "latest_of", broken)
    socket = WebsocketCommunicator(application, "/ws/prices/")
    assert await socket.connect()
    assert (await socket.receive_json_from())["type"] == "hello"
    await socket.send_json_to({"action": "subscribe", "symbols": ["BTC"]})
    assert (await socket.receive_json_from())["type"] == "subscribed"
    error = await socket.receive_json_from()
    assert (error["code"], error["message"]) == ("internal_error", "Server error.")
    assert await socket.receive_output() == {
        "type": "websocket.close",
        "code": 1011,
        "reason": "internal error",
    }
    await socket.disconnect()


async def test_a_replay_whose_count_is_slow_starts_at_once_and_tells_the_total_later(
    eth, monkeypatch
):
    await database_sync_to_async(import_candle_file)(
        path=DEMO_DIR / "binance_2018-06_ETH-USDT_1h.csv.gz",
        asset=eth,
        interval="1h",
        source="t",
    )
    monkeypatch.setattr(replay, "COUNT_BUDGET", 0)  # as if the range were huge
    socket = WebsocketCommunicator(
        application, "/ws/replay/?symbol=ETH&interval=1h&speed=100000"
    )
    assert await socket.connect()
    starting = await socket.receive_json_from()
    assert (starting["status"], starting["total"]) == ("starting", None)
    messages = [await socket.receive_json_from() for _ in range(1002)]
    candles = [m for m in messages if m["type"] == "candle"]
    statuses = [
        (m["status"], m.get("total")) for m in messages if m["type"] == "status"
    ]
    assert [c["seq"] for c in candles] == list(range(1000))
    assert statuses == [("counted", 1000), ("complete", 1000)]
    await socket.disconnect()
