"""A new anomaly reaches the subscribers of its symbol on /ws/prices/ (the real ASGI app
and Redis, in this process), and nobody else."""

import asyncio
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from analytics import anomalies
from marketpulse.asgi import application
from tests.prices.realtime.test_ws_in_process import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_persistent_connections(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


async def subscribed(symbol: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/prices/")
    assert await socket.connect()
    assert (await socket.receive_json_from())["type"] == "hello"
    await socket.send_json_to({"action": "subscribe", "symbols": [symbol]})
    assert (await socket.receive_json_from())["type"] == "subscribed"
    return socket


async def test_subscribers_of_the_symbol_receive_the_anomaly(btc, eth):
    btc_socket = await subscribed("BTC")
    eth_socket = await subscribed("ETH")
    await asyncio.sleep(0.3)  # the hub's Redis subscription is up
    now = datetime.now(UTC).replace(microsecond=0)
    found = anomalies.Found(now, "return", "24h", -0.2, -11.5, 8.0, {"samples": 1440})
    stored = await database_sync_to_async(anomalies.store)(
        asset_id=btc.pk, interval="1m", found=[found]
    )
    frame = await btc_socket.receive_json_from()
    assert frame["type"] == "anomaly"
    assert frame["symbol"] == "BTC"
    assert frame["anomaly"]["id"] == stored[0].pk
    assert (frame["anomaly"]["kind"], frame["anomaly"]["window"]) == ("return", "24h")
    assert frame["anomaly"]["score"] == -11.5
    assert await eth_socket.receive_nothing(0.5)
    await btc_socket.disconnect()
    await eth_socket.disconnect()
