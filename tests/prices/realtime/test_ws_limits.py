"""What one WebSocket client may cost the others (issue 12, items 8 and 9), end to end
through a real uvicorn: messages per connection, replays per address and per process, a
replay client that stops reading, queries that outlive their connection, and one client's
slow reads holding up everyone's subscribe and sign-in."""

import asyncio
import base64
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed

from assets.models import Asset
from prices.latest import record_latest_prices
from tests import servers
from tests.prices.realtime.test_ws_replay import eth_hours, replay_url
from tests.prices.realtime.wsclient import (
    closed_with,
    connect,
    prices_socket,
    receive,
    send,
)

OVERFLOWED = (1008, "too slow: send queue overflowed")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SECRET_KEY signs the tokens; a short one in test environments is fine.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

__all__ = ["eth_hours"]  # a fixture, used by name

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def btc_priced(btc: Asset) -> Asset:
    record_latest_prices([(btc, 60000.0, T0, "test")])
    return btc


@pytest.fixture
def dsn() -> str:
    return servers.database_url(connection.settings_dict)


@contextlib.contextmanager
def candles_locked(dsn: str) -> Iterator[None]:
    """Another session holds the candle table: every read of it waits, as a read over a
    huge range would take its time. The lock goes with the session."""
    with psycopg.connect(dsn) as locker:
        locker.execute("LOCK TABLE prices_candle IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            locker.rollback()


def waiting_candle_reads(dsn: str) -> int:
    """Queries of the candle table waiting for the lock, in any session."""
    with psycopg.connect(dsn, autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query ILIKE '%prices_candle%'"
            " AND query NOT ILIKE 'LOCK TABLE%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.1)
    return False


async def next_of_type(ws, kind: str, timeout: float = 5) -> dict:  # type: ignore[no-untyped-def]
    while (message := await receive(ws, timeout))["type"] != kind:
        pass
    return message


# --- item 8 / 9: messages per connection --------------------------------------------


@pytest.mark.parametrize("path", ["/ws/prices/", "/ws/replay/"])
async def test_a_client_sending_too_fast_gets_an_error_then_close_1008(
    ws_url, btc, eth_hours, path
):
    """WS_MESSAGE_RATE=10/s in bursts of WS_MESSAGE_BURST=30 (the defaults)."""
    url = (
        ws_url + path + ("?symbol=ETH&interval=1h&speed=1" if "replay" in path else "")
    )
    async with connect(url) as ws:
        for n in range(100):
            await send(ws, {"action": "ping", "id": n})
        pongs, error = 0, None
        while error is None and pongs < 100:  # all 100 answered: no limit
            message = await receive(ws)
            pongs += message["type"] == "pong"
            if message["type"] == "error":
                error = message
        assert error is not None
        assert error["code"] == "rate_limited"
        assert "10 messages per second" in error["message"]
        assert 25 <= pongs < 100  # the burst, and no more than a few refilled
        assert (await closed_with(ws))[0] == 1008


async def test_a_client_within_the_rate_is_served_as_long_as_it_stays(ws_url, btc):
    async with prices_socket(f"{ws_url}/ws/prices/") as ws:
        for n in range(40):  # more than a burst, at about twice the rate for 2 s
            await send(ws, {"action": "ping", "id": n})
            assert (await receive(ws)) == {"type": "pong", "id": n}
            await asyncio.sleep(0.05)


# --- item 8: replays ------------------------------------------------------------------


async def test_replays_per_client_address_are_capped_across_web_processes(
    start_server, eth_hours
):
    with (
        start_server(WS_REPLAYS_PER_IP="2") as a,
        start_server(WS_REPLAYS_PER_IP="2") as b,
    ):
        async with (
            connect(replay_url(a, symbol="ETH", interval="1h", speed="1")) as one,
            connect(replay_url(b, symbol="ETH", interval="1h", speed="1")) as two,
        ):
            for ws in (one, two):
                assert (await receive(ws))["status"] == "starting"
            for url in (a, b):
                async with connect(
                    replay_url(url, symbol="ETH", interval="1h", speed="1")
                ) as third:
                    error = await receive(third)
                    assert (error["code"], error["details"]) == (
                        "too_many_replays",
                        {"limit": 2},
                    )
                    assert (await closed_with(third))[0] == 1008
            # A price stream is not a replay: still welcome.
            async with prices_socket(f"{a}/ws/prices/") as ws:
                await send(ws, {"action": "ping"})
                assert (await receive(ws))["type"] == "pong"
            await one.close()
            await asyncio.sleep(0.3)
            async with connect(
                replay_url(a, symbol="ETH", interval="1h", speed="1")
            ) as again:
                assert (await receive(again))["status"] == "starting"


async def test_replays_per_web_process_are_capped_try_again_later(
    start_server, eth_hours
):
    with start_server(WS_REPLAYS_PER_PROCESS="2") as url:
        query = {"symbol": "ETH", "interval": "1h", "speed": "1"}
        async with (
            connect(replay_url(url, **query)) as one,
            connect(replay_url(url, **query)) as two,
        ):
            for ws in (one, two):
                assert (await receive(ws))["status"] == "starting"
            async with connect(replay_url(url, **query)) as third:
                error = await receive(third)
                assert (error["code"], error["details"]) == (
                    "server_busy",
                    {"limit": 2},
                )
                assert (await closed_with(third))[0] == 1013
            await two.close()
            await asyncio.sleep(0.3)
            async with connect(replay_url(url, **query)) as again:
                assert (await receive(again))["status"] == "starting"


async def test_a_replay_client_that_stops_reading_and_keeps_sending_is_cut_off(
    start_server, eth_hours
):
    """Each ping's pong waited in a task of its own, without end; now replies take the
    half of the send queue candles leave, and overflowing it cuts the client off."""
    with start_server(
        WS_SEND_QUEUE="10", WS_MESSAGE_RATE="100000", WS_MESSAGE_BURST="100000"
    ) as url:
        # As in test_ws_prices: a small fixed receive buffer, a client library that stops
        # reading after 4 frames, and replies that do not compress (random ids).
        host, port = url.split("//", 1)[1].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((host, int(port)))
        async with connect(
            replay_url(url, symbol="ETH", interval="1h", speed="100000"),
            max_queue=4,
            sock=sock,
        ) as slow:
            assert (await receive(slow))["status"] == "starting"
            cut: ConnectionClosed | None = None
            for _ in range(2500):  # ~10 MB of pongs: more than the socket buffers hold
                noise = base64.b64encode(os.urandom(2900)).decode()
                try:
                    await send(slow, {"action": "ping", "id": noise})
                except ConnectionClosed as closed:
                    cut = closed  # the server cut us off before we had sent them all
                    break
            if cut is not None:
                # Its close frame, or none: it closed the socket under our writes, and
                # the kernel's reset dropped what we had not read. The rate limits are
                # out of reach here, so nothing else than the overflow closes it.
                if cut.rcvd is not None:
                    assert (cut.rcvd.code, cut.rcvd.reason) == OVERFLOWED
                return
            await asyncio.sleep(2)
            code, reason, received = await closed_with(slow, timeout=10)
            assert (code, reason) == OVERFLOWED
            assert received < 2500 + 1000


@pytest.fixture
def eth_minutes(eth: Asset) -> int:
    """40,000 1m candles (~9 MB of frames: more than the socket buffers hold)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO prices_candle"
            " (asset_id, interval, open_time, open, high, low, close, volume, source)"
            " SELECT %s, '1m', %s + n * interval '1 minute', 1, 2, 0.5, 1.5, 10, 't'"
            " FROM generate_series(0, 39999) AS n",
            [eth.pk, T0],
        )
    return 40_000


async def test_a_replay_client_that_reads_nothing_is_cut_off_after_the_stall_limit(
    start_server, eth_minutes
):
    with start_server(WS_REPLAY_STALL_SECONDS="1") as url:
        host, port = url.split("//", 1)[1].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((host, int(port)))
        async with connect(
            replay_url(url, symbol="ETH", interval="1m", speed="100000"),
            max_queue=4,
            sock=sock,
            compression=None,
        ) as slow:
            await asyncio.sleep(3)  # reads nothing, sends nothing
            code, reason, received = await closed_with(slow, timeout=10)
            assert (code, reason) == (1008, "too slow: send queue overflowed")
            assert received < eth_minutes


async def test_a_replays_queries_end_with_its_connection(ws_url, eth_hours, dsn):
    """Its page and its count used to run on in PostgreSQL after the client left."""
    with candles_locked(dsn):
        async with connect(replay_url(ws_url, symbol="ETH", interval="1h")) as ws:
            assert (await receive(ws))["status"] == "starting"
            assert await eventually(lambda: waiting_candle_reads(dsn) >= 1)
        assert await eventually(lambda: waiting_candle_reads(dsn) == 0)
    # And the server is well: the same replay, from the start.
    async with connect(replay_url(ws_url, symbol="ETH", interval="1h")) as ws:
        assert (await receive(ws))["status"] == "starting"
        assert (await next_of_type(ws, "candle"))["seq"] == 0


# --- item 9: no shared bottleneck ------------------------------------------------------


async def test_a_client_whose_reads_wait_holds_up_no_one_elses_subscribe_or_sign_in(
    ws_url, eth_hours, btc_priced, bob, dsn
):
    """Every connection's database calls used to share one thread per process: one
    `seek` whose count waited stalled every other client's subscribe and sign-in."""
    flooder = await connect(replay_url(ws_url, symbol="ETH", interval="1h", speed="1"))
    try:
        assert (await receive(flooder))["status"] == "starting"
        await next_of_type(flooder, "candle")  # its pages are read
        with candles_locked(dsn):
            for n in range(20):  # within its rate; each seek counts the candles before
                await send(
                    flooder,
                    {"action": "seek", "time": eth_hours[10 + n]["open_time"], "id": n},
                )
            assert await eventually(lambda: waiting_candle_reads(dsn) >= 1)
            started = time.monotonic()
            async with prices_socket(f"{ws_url}/ws/prices/") as other:
                await send(other, {"action": "subscribe", "symbols": ["BTC"], "id": 1})
                assert (await receive(other))["type"] == "subscribed"
                assert (await receive(other))["price"] == 60000.0
                await send(other, {"action": "subscribe", "symbols": ["NOPE"]})
                assert (await receive(other))["code"] == "unknown_symbol"
            token = AccessToken.for_user(bob)
            async with connect(f"{ws_url}/ws/alerts/?token={token}") as alerts:
                assert (await receive(alerts))["type"] == "subscribed"
            # Generous: a loaded 2-core machine; the stall it replaces had no end.
            assert time.monotonic() - started < 5
            assert waiting_candle_reads(dsn) >= 1  # the flooder's count still waits
        # Then the flooder's seeks are answered, in order.
        seeked = await next_of_type(flooder, "status", timeout=10)
        while seeked["status"] != "seeked":
            seeked = await next_of_type(flooder, "status", timeout=10)
        assert seeked["id"] == 0
    finally:
        await flooder.close()
