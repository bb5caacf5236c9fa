"""Cached responses held in the web process (marketpulse/api/caching.py, Held),
checked in one process against the real Redis: a held hit needs no round trip, a bump
anywhere drops what it made stale, and nothing stale outlives a lost message."""

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django_redis import get_redis_connection

from marketpulse.api import caching, throttles
from marketpulse.api import held as held_module
from marketpulse.api.caching import CachedBody, Probe
from marketpulse.api.held import Held
from tests import servers

pytestmark = pytest.mark.django_db

LIST, DETAIL = "/api/v1/assets/?limit=50", "/api/v1/assets/ETH/"


@pytest.fixture
def held(monkeypatch) -> Iterator[Held]:  # type: ignore[no-untyped-def]
    """A following Held as the process's own, checked against Redis only on
    subscribing unless a test asks (so a dropped entry was dropped by a message)."""
    monkeypatch.setattr(held_module, "RESYNC_SECONDS", 3600)
    following = Held()
    monkeypatch.setattr(held_module, "HELD", following)
    thread = threading.Thread(target=following.run, daemon=True)
    thread.start()
    servers.wait_until(lambda: following.live, timeout=5, what="the subscription")
    yield following
    following.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


def bumped_elsewhere(scopes: list[str], *, listing: bool) -> None:
    """`bump_versions` as another web process runs it: this one hears of it only by
    the message."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(held_module, "HELD", Held())
        caching.bump_versions(scopes, listing=listing)


def entries_in_redis() -> list[bytes]:
    return list(get_redis_connection("responses").scan_iter(caching._entry_key("*")))


def test_a_held_hit_makes_no_round_trip(
    held, api_client, btc, eth, redis_writes, monkeypatch
):
    monkeypatch.setattr(throttles, "_batched", throttles.BatchedCounts(interval=60))
    first = api_client.get(LIST)
    assert first["X-Cache"] == "MISS"
    get_redis_connection("responses").delete(*entries_in_redis())
    redis_writes.clear()
    hits = [api_client.get(LIST) for _ in range(5)]
    # Neither the count (batched) nor the entry (held, though Redis lost it) is read.
    assert redis_writes == []
    for hit in hits:
        assert (hit.status_code, hit["X-Cache"]) == (200, "HIT")
        assert (hit.content, hit["ETag"]) == (first.content, first["ETag"])
    remaining = [int(h["X-RateLimit-Remaining"]) for h in hits]
    assert remaining == list(range(remaining[0], remaining[0] - 5, -1))  # each counted
    assert api_client.get(LIST, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_an_entry_another_process_built_is_held_once_read(held, api_client, btc, eth):
    with pytest.MonkeyPatch.context() as patch:  # built by another process
        patch.setattr(held_module, "HELD", Held())
        built = api_client.get(DETAIL)
    assert built["X-Cache"] == "MISS"
    read = api_client.get(DETAIL)  # from Redis, and held from then on
    get_redis_connection("responses").delete(*entries_in_redis())
    again = api_client.get(DETAIL)
    assert (read["X-Cache"], again["X-Cache"]) == ("HIT", "HIT")
    assert again.content == read.content == built.content


def test_a_bump_in_another_process_drops_what_it_made_stale(held, api_client, btc, eth):
    listing, detail = api_client.get(LIST), api_client.get(DETAIL)
    assert api_client.get(LIST)["X-Cache"] == api_client.get(DETAIL)["X-Cache"] == "HIT"
    eth.name = "Ether, renamed"
    type(eth).objects.filter(pk=eth.pk).update(name=eth.name)  # no signal: no bump here
    assert api_client.get(DETAIL).content == detail.content  # held: not yet told
    bumped_elsewhere(["ETH"], listing=False)
    servers.wait_until(
        lambda: api_client.get(DETAIL)["X-Cache"] == "MISS", timeout=2, what="the drop"
    )
    assert api_client.get(DETAIL).json()["name"] == "Ether, renamed"
    # Another scope's entries stay held.
    again = api_client.get(LIST)
    assert (again["X-Cache"], again.content) == ("HIT", listing.content)


def hold(  # type: ignore[no-untyped-def]
    held, key: str, body: CachedBody, *, version: bytes, seen: int
) -> None:
    """A response of ETH's held, as `caching.Probe.hold` holds one."""
    held.keep(key, "ETH", body, size=len(body.body), expires=body.expires,
              seen=seen, version=version)  # fmt: skip


def test_a_read_begun_before_a_bump_is_not_held(held):
    probe = Probe.of(scope="ETH", key="k")
    before = held.generation
    bumped_elsewhere(["ETH"], listing=False)
    servers.wait_until(lambda: held.generation > before, timeout=2, what="the bump")
    old = CachedBody(b"{}", '"e"', time.time() + 60)
    hold(held, "k", old, version=b"v", seen=probe.seen)
    assert held.get("k") is None
    hold(held, "k", old, version=b"v", seen=held.generation)  # begun after it: held
    assert held.get("k") == old


def test_a_missed_message_costs_at_most_one_check(held, monkeypatch):
    redis = get_redis_connection("responses")
    version = uuid.uuid4().hex.encode()
    redis.set(caching._version_key("ETH"), version)
    body = CachedBody(b"{}", '"e"', time.time() + 60)
    hold(held, "k", body, version=version, seen=held.generation)
    assert held.get("k") == body
    redis.set(caching._version_key("ETH"), b"bumped-without-a-message")
    held.resync()  # the follower does this every held.RESYNC_SECONDS
    assert held.get("k") is None


def test_a_lost_subscription_drops_everything_held(held):
    # Current in Redis, so only the loss (not the next check) can drop it.
    get_redis_connection("responses").set(caching._version_key("ETH"), b"v")
    body = CachedBody(b"{}", '"e"', time.time() + 60)
    hold(held, "k", body, version=b"v", seen=held.generation)
    [mine] = [
        int(c["id"])
        for c in get_redis_connection("responses").client_list(_type="pubsub")
        if c["name"] == Held.name
    ]
    get_redis_connection("responses").client_kill_filter(_id=mine)
    servers.wait_until(lambda: not held.live, timeout=5, what="the loss")
    assert held.get("k") is None
    servers.wait_until(lambda: held.live, timeout=5, what="the next subscription")
    assert held.get("k") is None  # what was missed meanwhile is unknown: nothing kept


def test_entries_expire_and_the_budget_drops_the_least_recently_used(held, settings):
    now = time.time()
    hold(
        held,
        "gone",
        CachedBody(b"{}", '"e"', now - 1),
        version=b"v",
        seen=held.generation,
    )
    assert held.get("gone") is None  # a forming candle's page, past its close
    settings.API_CACHE_HELD_BYTES = 10
    a, b, c = (CachedBody(b"1234", f'"{n}"', now + 60) for n in "abc")
    for key, body in (("a", a), ("b", b)):
        hold(held, key, body, version=b"v", seen=held.generation)
    assert held.get("a") == a  # used: b is now the least recently used
    hold(held, "c", c, version=b"v", seen=held.generation)
    assert (held.get("a"), held.get("b"), held.get("c")) == (a, None, c)
    hold(
        held,
        "big",
        CachedBody(b"x" * 11, '"x"', now + 60),
        version=b"v",
        seen=held.generation,
    )
    assert held.get("big") is None  # over the whole budget: never held


# --- the facts behind a cold candle page ----------------------------------------------


@pytest.fixture
def looked_up(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The symbols whose stored intervals were read from PostgreSQL, in order."""
    from prices import selectors

    symbols: list[str] = []
    real = selectors.stored_series

    def counted(*, symbol: str):  # type: ignore[no-untyped-def]
        symbols.append(symbol)
        return real(symbol=symbol)

    monkeypatch.setattr(selectors, "stored_series", counted)
    return symbols


def test_an_assets_stored_intervals_are_held_until_its_candles_change(
    held, api_client, eth, settings, looked_up, django_capture_on_commit_callbacks
):
    from prices.services import CandleIn, upsert_candles

    def candle_rows(count: int, step: timedelta) -> list[CandleIn]:
        t0 = datetime(2024, 3, 1, tzinfo=UTC)
        return [
            CandleIn(t0 + n * step, open=1.0, high=2.0, low=0.5, close=1.5, volume=3.0)
            for n in range(count)
        ]

    settings.API_CACHE_TTL = 0  # every page built: only the series lookup is held
    with django_capture_on_commit_callbacks(execute=True):
        upsert_candles(
            asset=eth,
            interval="1m",
            rows=candle_rows(120, timedelta(minutes=1)),
            source="t",
        )
    page = "/api/v1/prices/ETH/candles/?interval=1h"
    first = [api_client.get(page).json() for _ in range(3)]
    assert looked_up == ["ETH"]  # one lookup, then held
    assert {p["stored_interval"] for p in first} == {"1m"}
    with django_capture_on_commit_callbacks(execute=True):  # this process's bump
        upsert_candles(
            asset=eth,
            interval="1h",
            rows=candle_rows(2, timedelta(hours=1)),
            source="t",
        )
    assert api_client.get(page).json()["stored_interval"] == "1h"
    assert looked_up == ["ETH", "ETH"]
    bumped_elsewhere(["ETH"], listing=False)  # and another process's, by its message
    servers.wait_until(
        lambda: api_client.get(page) and len(looked_up) == 3, timeout=2, what="the drop"
    )


def test_an_unknown_symbol_is_not_held(held, api_client, settings, looked_up):
    settings.API_CACHE_TTL = 0
    assert api_client.get("/api/v1/prices/NOPE/candles/").status_code == 404
    first = len(looked_up)
    assert api_client.get("/api/v1/prices/NOPE/candles/").status_code == 404
    # Looked up again: nothing held. (Each 404 looks twice: the lean path, then the DRF
    # view it hands the error to.)
    assert len(looked_up) == 2 * first > 0
    assert set(looked_up) == {"NOPE"}
