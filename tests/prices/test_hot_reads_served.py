"""The web server (real uvicorn, two processes, a Redis of the test's own so every
command is counted) answers latest prices from each process's mirror and counts rate
limits in batches: no Redis round trip per request, nothing lost, limits held."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django_redis import get_redis_connection

from marketpulse.api import held
from prices import latest_mirror
from prices.latest import latest_prices, record_latest_prices
from prices.realtime.broadcast import publish_price
from tests import servers

ONE, EVERY = "/api/v1/prices/latest/BTC/", "/api/v1/prices/latest/"


@pytest.fixture
def private_redis(tmp_path, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = servers.free_port()
    with servers.redis_server(port, tmp_path):
        location = f"redis://127.0.0.1:{port}/0"
        servers.redis_at(settings, location)  # this process writes the prices there
        yield location


def sync_writes(asset, price: float, as_of: datetime) -> None:  # type: ignore[no-untyped-def]
    """As a sync stores and publishes a new latest price."""
    for fresh in record_latest_prices([(asset, price, as_of, "test")]).prices:
        publish_price(fresh)


@pytest.fixture
def served(server_env, private_redis, btc, eth, settings):  # type: ignore[no-untyped-def]
    def start(**extra: str):  # type: ignore[no-untyped-def]
        # The channels this process publishes on (the prefix follows REDIS_URL's db).
        prefix = settings.REALTIME_CHANNEL_PREFIX
        env = {**server_env, "REDIS_URL": private_redis,
               "CACHE_REDIS_URL": private_redis, "REALTIME_CHANNEL_PREFIX": prefix,
               **extra}  # fmt: skip
        return servers.asgi_server(env, workers=2)

    now = datetime.now(UTC).replace(microsecond=0)
    sync_writes(btc, 65000.5, now)
    sync_writes(eth, 3200.25, now)
    latest_prices(None)  # the first full read marks Redis's copy complete
    return start


def fresh_connections(base: str) -> httpx.Client:
    """A new connection per request, so both web processes answer."""
    return httpx.Client(
        base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
    )


def mirrors_following() -> int:
    listed = get_redis_connection("default").client_list(_type="pubsub")
    return sum(c["name"] == latest_mirror.CLIENT_NAME for c in listed)


def counted_in_redis() -> int:
    redis = get_redis_connection("default")
    return sum(int(redis.get(k)) for k in redis.keys("mp:throttle:anon:*"))


def test_latest_prices_are_served_with_no_redis_round_trip(served, btc):
    with served() as base, fresh_connections(base) as client:
        servers.wait_until(
            lambda: client.get(EVERY).status_code == 200 and mirrors_following() == 2,
            timeout=20,
            what="both processes' mirrors",
        )
        time.sleep(0.5)  # their first read of the copy
        redis = get_redis_connection("default")
        before = counted_in_redis()
        redis.config_resetstat()
        started = time.monotonic()
        answers = [client.get(path) for path in [ONE, EVERY] * 100]
        elapsed = time.monotonic() - started
        stats = redis.info("commandstats")
        assert [a.status_code for a in answers] == [200] * 200
        assert {a.headers["X-Cache"] for a in answers} == {"HIT"}
        assert all(int(a.headers["X-RateLimit-Remaining"]) >= 0 for a in answers)
        assert answers[0].json()["price"] == 65000.5
        assert [r["symbol"] for r in answers[1].json()["results"]] == ["BTC", "ETH"]
        # No read of a price and no count per request: only the flushes (INCRBY +
        # EXPIREAT, each process at most every 50 ms) and the mirrors' reads of the copy
        # (HGETALL, each at most every second and once more on starting).
        assert "cmdstat_hget" not in stats, stats  # a price read
        assert "cmdstat_expire" not in stats, stats  # a count (INCRBY 1 + EXPIRE)
        flushes = stats.get("cmdstat_incrby", {}).get("calls", 0)
        assert 1 <= flushes <= 2 * (elapsed / 0.05 + 2), (flushes, elapsed)
        resyncs = stats.get("cmdstat_hgetall", {}).get("calls", 0)
        assert resyncs <= 2 * (elapsed / latest_mirror.RESYNC_SECONDS + 2)
        # Every request counted, once, when the last batches are flushed.
        servers.wait_until(
            lambda: counted_in_redis() - before == 200, timeout=3, what="the flushes"
        )
        time.sleep(0.2)
        assert counted_in_redis() - before == 200

        # A new price reaches both processes' answers by its publish (well within the
        # mirrors' one-second reads of the copy).
        sync_writes(btc, 66000.0, datetime.now(UTC) + timedelta(seconds=1))
        servers.wait_until(
            lambda: {client.get(ONE).json()["price"] for _ in range(20)} == {66000.0},
            timeout=2,
            what="the new price in both processes",
        )


def test_a_limit_holds_across_both_processes_within_one_flush(served):
    limit = 100
    # Away from a minute's end: the fixed window must not start over mid-test.
    while time.time() % 60 > 40:
        time.sleep(1)
    env = {"THROTTLE_RATE_ANON": f"{limit}/min"}
    with served(**env) as base, fresh_connections(base) as client:
        servers.wait_until(
            lambda: client.get(ONE).status_code == 200 and mirrors_following() == 2,
            timeout=20,
            what="both processes' mirrors",
        )
        time.sleep(0.3)  # flushed: the warm-up's requests are in Redis
        used = counted_in_redis()
        statuses = [client.get(ONE).status_code for _ in range(2 * limit - used)]
        allowed = statuses.count(200)
        # Never refused within the limit; past it, at most what the other process
        # admitted before its next flush (one 50 ms interval) gets through.
        assert limit - used <= allowed < 2 * limit - used, statuses
        assert set(statuses) == {200, 429}
        time.sleep(0.3)  # both processes have flushed and learnt the total
        late = [client.get(ONE) for _ in range(10)]
        assert [r.status_code for r in late] == [429] * 10
        assert late[0].json()["error"]["code"] == "throttled"
        assert late[0].headers["X-RateLimit-Remaining"] == "0"
        # Every request counted, refused ones too, once the last batches are flushed.
        servers.wait_until(
            lambda: counted_in_redis() == 2 * limit + 10, timeout=3, what="the flushes"
        )


def held_followers() -> int:
    listed = get_redis_connection("responses").client_list(_type="pubsub")
    return sum(c["name"] == held.Held.name for c in listed)


def test_asset_reads_are_held_by_each_process_and_a_change_reaches_both(served, eth):
    reads = ["/api/v1/assets/?limit=50", "/api/v1/assets/ETH/"]
    with served() as base, fresh_connections(base) as client:
        servers.wait_until(
            lambda: client.get(reads[0]).status_code == 200 and held_followers() == 2,
            timeout=20,
            what="both processes' held responses",
        )
        servers.wait_until(  # each process has read or built both entries
            lambda: {client.get(p).headers["X-Cache"] for p in reads * 10} == {"HIT"},
            timeout=5,
            what="both processes holding both reads",
        )
        redis = get_redis_connection("responses")
        redis.config_resetstat()
        started = time.monotonic()
        answers = [client.get(path) for path in reads * 100]
        elapsed = time.monotonic() - started
        stats = redis.info("commandstats")
        assert [a.status_code for a in answers] == [200] * 200
        assert {a.headers["X-Cache"] for a in answers} == {"HIT"}
        # No entry read per request: only each process's check of what it holds
        # against the versions (MGET, at most every second and once on subscribing).
        checks = stats.get("cmdstat_mget", {}).get("calls", 0)
        assert checks <= 2 * (elapsed / held.RESYNC_SECONDS + 2), stats
        assert "cmdstat_get" not in stats, stats

        # A change made here (the admin's save) reaches both processes by its
        # message, well within their one-second checks.
        eth.name = "Ether, renamed"
        eth.save()
        servers.wait_until(
            lambda: (
                {client.get(reads[1]).json()["name"] for _ in range(20)}
                == {"Ether, renamed"}
            ),
            timeout=0.8,
            what="the change in both processes",
        )
        names = {r["name"] for r in client.get(reads[0]).json()["results"]}
        assert "Ether, renamed" in names
