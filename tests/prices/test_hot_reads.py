"""What lets the hottest reads skip Redis in the web server, checked in one process
against the real Redis: rate limits counted in the process and flushed in batches
(marketpulse/api/throttles.py), and the latest-price mirror (prices/latest_mirror.py)."""

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from marketpulse.api import throttles
from marketpulse.api.throttles import BatchedCounts, count_request
from prices import latest_mirror
from prices.latest import (
    COMPLETE_KEY,
    forget_latest_price,
    latest_prices,
    record_latest_prices,
)
from prices.realtime.broadcast import publish_price
from tests import servers

pytestmark = pytest.mark.django_db


def counter(key: str, duration: int = 60) -> str:
    now = int(time.time())
    return f"mp:throttle:{key}:{now - now % duration}"


def stored(key: str) -> int:
    return int(get_redis_connection("default").get(counter(key)) or 0)


def test_batched_counts_are_exact_in_the_process_and_all_reach_redis():
    counts = BatchedCounts(interval=60)  # flushed by hand here
    seen = [counts.count("anon:1.2.3.4", limit=3, duration=60) for _ in range(5)]
    assert [c.allowed for c in seen] == [True, True, True, False, False]
    assert [c.state.remaining for c in seen] == [2, 1, 0, 0, 0]  # type: ignore[union-attr]
    assert stored("anon:1.2.3.4") == 0  # nothing sent yet: no round trip per request
    counts.flush()
    assert stored("anon:1.2.3.4") == 5  # every request, refused ones too, as unbatched
    assert get_redis_connection("default").ttl(counter("anon:1.2.3.4")) > 0
    counts.flush()  # nothing pending: nothing added twice
    assert stored("anon:1.2.3.4") == 5


def test_another_process_learns_the_count_at_its_next_flush():
    mine, theirs = BatchedCounts(interval=60), BatchedCounts(interval=60)
    for _ in range(4):
        mine.count("anon:5.6.7.8", limit=4, duration=60)
    mine.flush()
    # Before its flush the other process knows only its own requests: the bounded
    # overshoot of batching (one interval of the other processes' requests).
    assert theirs.count("anon:5.6.7.8", limit=4, duration=60).allowed
    theirs.flush()
    assert stored("anon:5.6.7.8") == 5
    late = theirs.count("anon:5.6.7.8", limit=4, duration=60)
    assert not late.allowed
    assert late.state is not None
    assert late.state.remaining == 0


def test_a_count_that_reads_adds_what_this_process_has_not_flushed(monkeypatch):
    counts = BatchedCounts(interval=60)
    monkeypatch.setattr(throttles, "_batched", counts)
    for _ in range(2):
        count_request("anon:9.9.9.9", limit=10, duration=60, batched=True)
    assert stored("anon:9.9.9.9") == 0
    read = count_request(
        "anon:9.9.9.9", limit=10, duration=60, reads=[("get", ("x",))], batched=True
    )
    assert read.state is not None
    assert read.state.remaining == 10 - 3
    exact = count_request("login:9.9.9.9", limit=10, duration=60)  # not batched
    assert exact.state is not None
    assert stored("login:9.9.9.9") == 1


def test_with_redis_down_batched_limits_fail_open_as_unbatched_ones(settings):
    counts = BatchedCounts(interval=60)
    assert counts.count("anon:1.1.1.1", limit=1, duration=60).allowed
    servers.redis_at(settings, f"redis://127.0.0.1:{servers.free_port()}/0")
    counts.flush()  # fails: Redis is down
    down = [counts.count("anon:1.1.1.1", limit=1, duration=60) for _ in range(3)]
    assert all(c.allowed and c.state is None for c in down)
    assert count_request("anon:1.1.1.1", limit=1, duration=60).state is None


# --- the latest-price mirror ------------------------------------------------------


@pytest.fixture
def mirror(monkeypatch) -> Iterator[latest_mirror.LatestMirror]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(latest_mirror, "RESYNC_SECONDS", 0.2)
    monkeypatch.setattr(latest_mirror, "RETRY_SECONDS", 0.2)
    following = latest_mirror.LatestMirror()
    thread = threading.Thread(target=following.run, daemon=True)
    thread.start()
    yield following
    following.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    servers.wait_until(check, timeout=timeout, what="the mirror")


def sync_writes(asset, price: float, as_of: datetime) -> None:  # type: ignore[no-untyped-def]
    """As a sync stores and publishes a new latest price."""
    for fresh in record_latest_prices([(asset, price, as_of, "test")]).prices:
        publish_price(fresh)


@pytest.fixture
def priced(btc, eth):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    sync_writes(btc, 65000.5, now)
    sync_writes(eth, 3200.25, now)
    latest_prices(None)  # the first full read marks Redis's copy complete
    return now


def test_the_mirror_holds_every_price_and_follows_new_ones(
    db, priced, mirror, btc, monkeypatch
):
    until(lambda: mirror.live)
    assert [p["symbol"] for p in mirror.every() or []] == ["BTC", "ETH"]
    assert mirror.price("BTC") == latest_prices(["BTC"])[0][0]
    monkeypatch.setattr(latest_mirror, "RESYNC_SECONDS", 3600)
    time.sleep(0.3)  # its last 0.2 s read is done: what follows comes by the publish
    sync_writes(btc, 66000.0, priced + timedelta(seconds=5))
    until(lambda: (mirror.price("BTC") or {}).get("price") == 66000.0, timeout=1)
    assert mirror.price("BTC") == latest_prices(["BTC"])[0][0]
    # An older price, published late, does not move it back.
    publish_price(
        {"symbol": "BTC", "price": 1.0, "quote": "USD", "source": "late",
         "as_of": (priced - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    )  # fmt: skip
    time.sleep(0.3)
    assert (mirror.price("BTC") or {}).get("price") == 66000.0


def test_a_dropped_asset_leaves_the_mirror_and_an_incomplete_copy_darkens_it(
    db, priced, mirror
):
    until(lambda: mirror.live)
    forget_latest_price("ETH")
    until(lambda: [p["symbol"] for p in mirror.every() or []] == ["BTC"])
    get_redis_connection("default").delete(COMPLETE_KEY)
    until(lambda: not mirror.live)  # readers go to Redis, which refills from PostgreSQL
    assert mirror.price("BTC") is None
    latest_prices(None)
    until(lambda: mirror.live)


def mirror_clients() -> list[int]:
    listed = get_redis_connection("default").client_list(_type="pubsub")
    return [int(c["id"]) for c in listed if c["name"] == latest_mirror.CLIENT_NAME]


def test_a_lost_subscription_is_resumed_and_what_it_missed_read_again(
    db, priced, mirror, btc, monkeypatch
):
    until(lambda: mirror.live)
    monkeypatch.setattr(latest_mirror, "RESYNC_SECONDS", 3600)  # only a resubscription
    time.sleep(0.3)  # the last 0.2 s wait is over: the next resync is an hour away
    [first] = mirror_clients()
    redis = get_redis_connection("default")
    redis.client_kill_filter(_id=first)
    # Stored and published while nobody listened (the price stream lost it).
    sync_writes(btc, 67000.0, priced + timedelta(seconds=9))
    until(lambda: mirror_clients() not in ([], [first]))
    until(lambda: (mirror.price("BTC") or {}).get("price") == 67000.0)
