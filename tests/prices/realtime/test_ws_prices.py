"""`/ws/prices/` end to end: a real uvicorn, the `websockets` client, `publish_price`."""

import asyncio
import base64
import contextlib
import os
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from channels.db import database_sync_to_async
from django_redis import get_redis_connection

from assets.models import Asset
from prices.latest import LatestPrice, iso_z, record_latest_prices
from prices.realtime.broadcast import publish_price
from prices.realtime.consumers.admission import admission
from tests import servers
from tests.prices.realtime.wsclient import (
    closed_with,
    connect,
    nothing_within,
    prices_socket,
    receive,
    refused,
    send,
)

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def tick(symbol: str, price: float, n: int) -> LatestPrice:
    """The n-th update after T0 (one second apart), as the sync pipeline publishes it."""
    return LatestPrice(
        symbol=symbol,
        price=price,
        quote="USD",
        as_of=iso_z(T0 + timedelta(seconds=n)),
        source="test",
    )


def record_and_publish(symbol: str, price: float, as_of: datetime) -> None:
    """What the sync pipeline does for a new price."""
    asset = Asset.objects.get(symbol=symbol)
    record_latest_prices([(asset, price, as_of, "x")])
    publish_price(tick(symbol, price, int((as_of - T0).total_seconds())))


@pytest.fixture
def priced(btc: Asset, eth: Asset) -> None:
    record_latest_prices([(btc, 60000.0, T0, "test"), (eth, 3000.0, T0, "test")])


async def test_subscribe_sends_latest_prices_then_every_update_in_order(ws_url, priced):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, {"action": "subscribe", "symbols": ["btc", "ETH"], "id": 7})
        assert await receive(ws) == {
            "type": "subscribed",
            "id": 7,
            "symbols": ["BTC", "ETH"],
            "streams": ["price"],
        }
        snapshot = [await receive(ws), await receive(ws)]
        assert [(m["type"], m["symbol"], m["price"]) for m in snapshot] == [
            ("price", "BTC", 60000.0),
            ("price", "ETH", 3000.0),
        ]
        assert snapshot[0]["as_of"] == "2024-03-01T12:00:00Z"

        for n in range(1, 101):
            publish_price(tick("BTC" if n % 3 else "ETH", float(n), n))
        got = [await receive(ws) for _ in range(100)]
        for symbol in ("BTC", "ETH"):
            sent = [
                float(n) for n in range(1, 101) if (n % 3 != 0) == (symbol == "BTC")
            ]
            assert [m["price"] for m in got if m["symbol"] == symbol] == sent
        assert await nothing_within(ws, 0.3)


async def test_unsubscribe_stops_updates_and_list_shows_what_is_left(ws_url, priced):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, {"action": "subscribe", "symbols": ["BTC", "ETH"]})
        for _ in range(3):
            await receive(ws)
        await send(ws, {"action": "unsubscribe", "symbols": ["eth"], "id": "u"})
        assert await receive(ws) == {
            "type": "unsubscribed",
            "id": "u",
            "symbols": ["ETH"],
            "streams": ["price"],
        }
        await send(ws, {"action": "list", "id": 2})
        assert await receive(ws) == {
            "type": "subscriptions",
            "id": 2,
            "symbols": ["BTC"],
            "streams": {"price": ["BTC"]},
        }

        publish_price(tick("ETH", 1.0, 1))
        publish_price(tick("BTC", 2.0, 2))
        assert (await receive(ws))["symbol"] == "BTC"
        assert await nothing_within(ws, 0.3)


async def test_the_one_symbol_path_streams_that_symbol(ws_url, priced):
    async with prices_socket(f"{ws_url}/ws/prices/eth/") as ws:
        assert (await receive(ws))["type"] == "subscribed"
        assert (await receive(ws))["price"] == 3000.0
        publish_price(tick("BTC", 1.0, 1))
        publish_price(tick("ETH", 3001.0, 1))
        assert (await receive(ws))["price"] == 3001.0


async def test_a_symbol_without_a_price_yet_gets_updates_only(ws_url, btc):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, {"action": "subscribe", "symbols": ["BTC"]})
        assert (await receive(ws))["type"] == "subscribed"
        assert await nothing_within(ws, 0.2)
        publish_price(tick("BTC", 5.0, 1))
        assert (await receive(ws))["price"] == 5.0


async def test_one_publish_reaches_clients_on_two_web_processes(start_server, priced):
    with start_server() as other_url, start_server() as third_url:
        async with (
            prices_socket(f"{other_url}/ws/prices/btc/") as a,
            prices_socket(f"{third_url}/ws/prices/btc/") as b,
        ):
            for ws in (a, b):
                assert (await receive(ws))["type"] == "subscribed"
                assert (await receive(ws))["price"] == 60000.0
            assert publish_price(tick("BTC", 61000.0, 1)) >= 2  # two web processes
            for ws in (a, b):
                message = await receive(ws)
                assert (message["symbol"], message["price"]) == ("BTC", 61000.0)
                assert await nothing_within(ws, 0.2)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        ('["subscribe"]', "invalid_message"),
        ('{"symbols": ["BTC"]}', "invalid_message"),
        ('{"action": "buy"}', "unknown_action"),
        ('{"action": "list", "pad": "' + "x" * 5000 + '"}', "message_too_large"),
        (b"\x00binary", "invalid_message"),
    ],
)
async def test_bad_messages_get_an_error_then_close_1008(ws_url, btc, message, code):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, message) if isinstance(message, str) else await ws.send(message)
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", code)
        assert error["message"]
        assert (await closed_with(ws))[0] == 1008


async def test_unknown_or_too_many_symbols_are_refused_and_the_connection_goes_on(
    ws_url, priced, settings
):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, {"action": "subscribe", "symbols": ["BTC", "NOPE"], "id": 1})
        error = await receive(ws)
        assert error == {
            "type": "error",
            "code": "unknown_symbol",
            "message": "Unknown symbol(s): NOPE.",
            "details": {"symbols": ["NOPE"]},
            "id": 1,
        }
        too_many = [f"S{n}" for n in range(101)]  # WS_MAX_SUBSCRIPTIONS = 100
        await send(ws, {"action": "subscribe", "symbols": too_many, "id": 2})
        error = await receive(ws)
        assert (error["code"], error["id"], error["details"]["limit"]) == (
            "too_many_symbols",
            2,
            100,
        )
        await send(ws, {"action": "subscribe", "symbols": "BTC", "id": 3})
        assert (await receive(ws))["code"] == "invalid_symbols"
        # Nothing of the refused requests was subscribed; a good one still works.
        await send(ws, {"action": "list", "id": 4})
        assert (await receive(ws))["symbols"] == []
        await send(ws, {"action": "subscribe", "symbols": ["BTC"], "id": 5})
        assert (await receive(ws))["type"] == "subscribed"
        assert (await receive(ws))["price"] == 60000.0


async def test_the_one_symbol_path_of_an_unknown_symbol_closes_1008(ws_url, btc):
    async with prices_socket(f"{ws_url}/ws/prices/nope/") as ws:
        assert (await receive(ws))["code"] == "unknown_symbol"
        assert (await closed_with(ws))[0] == 1008


async def test_ping_gets_pong(ws_url, btc):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(ws, {"action": "ping", "id": 9})
        assert await receive(ws) == {"type": "pong", "id": 9}


async def test_connections_per_client_address_are_limited_across_web_processes(
    start_server, btc
):
    # Two web processes behind one address, as behind a load balancer.
    with (
        start_server(WS_MAX_CONNECTIONS_PER_IP="2") as a,
        start_server(WS_MAX_CONNECTIONS_PER_IP="2") as b,
    ):
        async with (
            prices_socket(f"{a}/ws/prices/") as one,
            prices_socket(f"{b}/ws/prices/"),
        ):
            assert await refused(a)
            assert await refused(b)
            await one.close()
            await asyncio.sleep(0.2)
            async with prices_socket(f"{b}/ws/prices/") as again:
                await send(again, {"action": "ping"})
                assert (await receive(again))["type"] == "pong"
                assert await refused(a)


async def test_a_burst_of_connections_is_counted_in_redis_one_lease_each(
    start_server, btc
):
    leases = admission.key("127.0.0.1")
    redis = get_redis_connection("default")
    with start_server(WS_MAX_CONNECTIONS_PER_IP="500") as url:
        async with contextlib.AsyncExitStack() as stack:
            await asyncio.gather(
                *(
                    stack.enter_async_context(prices_socket(f"{url}/ws/prices/"))
                    for _ in range(150)  # more than redis-py's default pool (100)
                )
            )
            assert redis.zcard(leases) == 150  # none fell back to a per-process count
        await asyncio.sleep(0.3)
        assert redis.zcard(leases) == 0  # each released with its connection


async def test_connections_of_a_web_process_that_died_stop_counting_after_a_lease(
    server_env, btc
):
    env = server_env | {"WS_MAX_CONNECTIONS_PER_IP": "1"}
    with (
        servers.asgi_server_process(env | {"WS_CONNECTION_LEASE_SECONDS": "3"}) as (
            a,
            doomed,
        ),
        servers.asgi_server(env) as b,
    ):
        a, b = a.replace("http:", "ws:"), b.replace("http:", "ws:")
        async with prices_socket(f"{a}/ws/prices/"):
            await asyncio.sleep(4)  # longer than a lease: counted only if renewed
            assert await refused(b)
            doomed.kill()  # no goodbye: its connection stays in Redis until its lease ends
            doomed.wait()
            assert await refused(b)
            await asyncio.sleep(3.5)
            async with prices_socket(f"{b}/ws/prices/") as ws:
                await send(ws, {"action": "ping"})
                assert (await receive(ws))["type"] == "pong"


async def test_a_client_that_stops_reading_is_cut_off_with_a_reason(start_server, btc):
    with start_server(WS_SEND_QUEUE="10") as url:
        # The client library stops reading after 4 frames; buffers then fill up. A small
        # fixed receive buffer: loopback autotuning may grow it to 32 MB here, which
        # would swallow every frame and hide the slow client.
        host, port = url.split("//", 1)[1].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((host, int(port)))
        # Compression stays on, as browsers negotiate it, so the payloads must not
        # compress: 8 KB of one letter deflates to a few bytes, every frame then fits in
        # the socket buffers and no client ever looks slow.
        async with prices_socket(
            f"{url}/ws/prices/btc/", max_queue=4, sock=sock
        ) as slow:
            assert (await receive(slow))["type"] == "subscribed"
            for n in range(2500):  # ~20 MB: far more than the socket buffers hold
                noise = base64.b64encode(os.urandom(6000)).decode()
                publish_price(tick("BTC", float(n), n) | {"source": noise})
            await asyncio.sleep(2)
            code, reason, received = await closed_with(slow, timeout=10)
            assert (code, reason) == (1008, "too slow: send queue overflowed")
            assert received < 2500
        # Counted, and the connection gauge back to zero (the server's own /metrics).
        scraped = httpx.get(url.replace("ws://", "http://") + "/metrics", timeout=5)
        assert 'marketpulse_websocket_slow_clients_total{stream="prices"} 1.0' in (
            scraped.text
        )
        assert 'marketpulse_websocket_connections{stream="prices"} 0.0' in scraped.text


async def test_a_browser_page_from_another_site_is_refused(ws_url, btc):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{ws_url}/ws/prices/", origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with prices_socket(f"{ws_url}/ws/prices/", origin="http://localhost") as ws:
        await send(ws, {"action": "ping"})
        assert (await receive(ws))["type"] == "pong"


async def test_a_later_price_recorded_and_published_reaches_subscribers(ws_url, priced):
    async with prices_socket(f"{ws_url}/ws/prices/btc/") as ws:
        await receive(ws)
        await receive(ws)
        await database_sync_to_async(record_and_publish)("BTC", 1.25, T0 + timedelta(1))
        assert (await receive(ws))["price"] == 1.25


async def test_a_kline_stream_pushes_the_forming_candle_built_from_prices(ws_url, btc):
    minute = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    at = [minute + timedelta(seconds=s) for s in (5, 20, 40, 59, 61)]
    publish_price(
        LatestPrice(
            symbol="BTC", price=100.0, quote="USD", as_of=iso_z(at[0]), source="t"
        )
    )
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(
            ws, {"action": "subscribe", "symbols": ["BTC"], "streams": ["kline_1m"]}
        )
        assert (await receive(ws))["streams"] == ["kline_1m"]
        first = await receive(ws)  # the forming candle, at once
        assert first == {
            "type": "kline",
            "symbol": "BTC",
            "interval": "1m",
            "open_time": "2024-03-01T12:00:00Z",
            "close_time": "2024-03-01T12:01:00Z",
            "open": 100.0,
            "high": 100.0,
            "low": 100.0,
            "close": 100.0,
            "volume": None,
            "is_closed": False,
            "as_of": "2024-03-01T12:00:05Z",
        }
        for moment, price in zip(at[1:], (103.5, 98.25, 101.0, 102.0), strict=True):
            publish_price(
                LatestPrice(
                    symbol="BTC",
                    price=price,
                    quote="USD",
                    as_of=iso_z(moment),
                    source="t",
                )
            )
        # A late price (older than the last one) changes nothing.
        publish_price(
            LatestPrice(
                symbol="BTC", price=1.0, quote="USD", as_of=iso_z(at[2]), source="t"
            )
        )
        candles = [await receive(ws) for _ in range(5)]
        ohlc = [
            (c["open_time"], c["open"], c["high"], c["low"], c["close"], c["is_closed"])
            for c in candles
        ]
        assert ohlc == [
            ("2024-03-01T12:00:00Z", 100.0, 103.5, 100.0, 103.5, False),
            ("2024-03-01T12:00:00Z", 100.0, 103.5, 98.25, 98.25, False),
            ("2024-03-01T12:00:00Z", 100.0, 103.5, 98.25, 101.0, False),
            # The next minute's first price closes the finished candle, then opens one.
            ("2024-03-01T12:00:00Z", 100.0, 103.5, 98.25, 101.0, True),
            ("2024-03-01T12:01:00Z", 102.0, 102.0, 102.0, 102.0, False),
        ]
        assert candles[3]["as_of"] == "2024-03-01T12:00:59Z"  # its last price
        assert await nothing_within(ws, 0.3)  # neither the late price nor price frames


async def test_an_unknown_stream_is_refused(ws_url, btc):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        await send(
            ws, {"action": "subscribe", "symbols": ["BTC"], "streams": ["kline_7m"]}
        )
        error = await receive(ws)
        assert (error["code"], error["details"]) == (
            "unknown_stream",
            {"streams": ["kline_7m"]},
        )
