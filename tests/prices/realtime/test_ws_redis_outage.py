"""Redis going away and coming back: subscribers are told, then get the latest price;
connections count against the per-address limit again."""

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from redis import Redis

from assets.models import Asset
from prices.latest import record_latest_prices
from prices.realtime.consumers.admission import admission
from tests import servers
from tests.prices.realtime.wsclient import prices_socket, receive, refused
from tests.servers import redis_at

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def use_redis(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    redis_at(settings, f"redis://127.0.0.1:{port}/0")


async def test_subscribers_see_the_outage_and_get_the_latest_price_after_it(
    start_server, btc, settings, tmp_path
):
    port = servers.free_port()
    await sync_to_async(use_redis)(settings, port)
    with contextlib.ExitStack() as redis:
        redis.enter_context(servers.redis_server(port, tmp_path))
        await database_sync_to_async(record_latest_prices)([(btc, 100.0, T0, "x")])
        own = {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "REALTIME_CHANNEL_PREFIX": settings.REALTIME_CHANNEL_PREFIX,
        }
        with start_server(**own) as url:
            async with prices_socket(f"{url}/ws/prices/btc/") as ws:
                assert (await receive(ws))["type"] == "subscribed"
                assert (await receive(ws))["price"] == 100.0

                redis.close()  # Redis stops
                assert await receive(ws) == {"type": "status", "status": "degraded"}
                # The sync pipeline goes on: PostgreSQL keeps the price.
                asset = await database_sync_to_async(Asset.objects.get)(pk=btc.pk)
                await database_sync_to_async(record_latest_prices)(
                    [(asset, 101.5, T0 + timedelta(minutes=1), "x")]
                )

                with servers.redis_server(port, tmp_path):
                    assert await receive(ws, timeout=15) == {
                        "type": "status",
                        "status": "live",
                    }
                    price = await receive(ws)
                    assert (price["symbol"], price["price"]) == ("BTC", 101.5)


async def test_connections_count_again_after_redis_restarts_or_was_down(
    start_server, btc, settings, tmp_path
):
    port = servers.free_port()
    leases = admission.key("127.0.0.1")

    async def counted(expected: int) -> bool:
        # Within a few renewals (a third of the 3-second lease each).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), Redis(port=port) as redis:
                if redis.zcard(leases) == expected:
                    return True
            await asyncio.sleep(0.1)
        return False

    first_redis = contextlib.ExitStack()
    first_redis.enter_context(servers.redis_server(port, tmp_path))
    own = {
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "REALTIME_CHANNEL_PREFIX": settings.REALTIME_CHANNEL_PREFIX,
        "WS_CONNECTION_LEASE_SECONDS": "3",
        "WS_MAX_CONNECTIONS_PER_IP": "2",
    }
    with first_redis, start_server(**own) as url, contextlib.ExitStack() as later:
        async with prices_socket(f"{url}/ws/prices/"):
            assert await counted(1)
            first_redis.close()  # Redis stops, and forgets every lease (it keeps nothing)
            # Admitted meanwhile on this process's own count.
            async with prices_socket(f"{url}/ws/prices/"):
                assert await refused(url)  # the limit holds on this process's own count
                later.enter_context(servers.redis_server(port, tmp_path))
                # Both leases are back: the one Redis forgot, the one it never saw.
                assert await counted(2)
                assert await refused(url)  # so the shared limit holds again
            assert await counted(1)
        assert await counted(0)
