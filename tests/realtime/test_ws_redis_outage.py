"""Redis going away and coming back: subscribers are told, then get the latest price."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from assets.models import Asset
from prices.latest import record_latest_prices
from tests import servers
from tests.realtime.wsclient import prices_socket, receive

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def use_redis(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }


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
