"""The sync pipeline end to end in-process: real PostgreSQL, Redis and channel layer."""

import csv
import gzip
import json
import threading
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from django.db import connection
from django_redis import get_redis_connection

from analytics.models import MarketReport
from assets.models import Asset
from prices.ingest.providers import ProviderUnavailable
from prices.ingest.providers.replay import Replay
from prices.ingest.sync import lock_key, run_sync
from prices.latest import latest_prices
from prices.models import Candle, CandleGap, SyncRun
from prices.realtime.broadcast import channel_prefix, price_group
from prices.services import CandleIn, upsert_candles
from tests.factories import SyncRunFactory
from tests.prices.demo import DEMO_DIR
from tests.prices.ingest.provider_server import Answer, payload

pytestmark = pytest.mark.django_db

MARKETS = "/cg/coins/markets"
CMC = "/cmc/v1/cryptocurrency/listings/latest"
KLINES = "/bn/api/v3/klines"
RECORDED_MARKETS = "coingecko/coins_markets_recorded_2022-03-22.json"


def new_run(job: str, **params) -> SyncRun:  # type: ignore[no-untyped-def]
    return SyncRunFactory(job=job, params=params)


def sync(job: str, providers=None, **params) -> SyncRun:  # type: ignore[no-untyped-def]
    return run_sync(run_id=new_run(job, **params).pk, providers=providers)


def recorded_series(
    name: str,
) -> list[tuple[datetime, float, float, float, float, float]]:
    """The demo file read independently of the code under test: sorted, deduplicated."""
    with gzip.open(DEMO_DIR / name, "rt", newline="") as handle:
        rows = {
            datetime.fromisoformat(r["timestamp"]): tuple(
                float(r[k]) for k in ("open", "high", "low", "close", "volume")
            )
            for r in csv.DictReader(handle)
        }
    return [(t, *rows[t]) for t in sorted(rows)]


# --- latest prices --------------------------------------------------------------------


def test_a_price_sync_stores_listings_and_latest_prices_and_records_the_run(
    providers_http, settings, btc
):
    settings.MARKET_PROVIDERS = ["coingecko", "coinmarketcap"]
    providers_http.script(MARKETS, Answer(body=payload(RECORDED_MARKETS)))
    run = sync("prices", limit=15)

    assert run.status == "succeeded"
    assert (run.provider, run.fallback_used, run.providers_tried) == (
        "coingecko", False, ["coingecko"],
    )  # fmt: skip
    assert (run.inserted, run.updated, run.rejected) == (14, 15, 0)  # BTC existed
    raw = json.loads(payload(RECORDED_MARKETS))
    btc.refresh_from_db()
    assert (btc.price, btc.price_source, btc.market_cap) == (
        raw[0]["current_price"], "coingecko", raw[0]["market_cap"],
    )  # fmt: skip
    prices, _ = latest_prices(["BTC", "XRP"])
    assert [(p["symbol"], p["price"], p["source"]) for p in prices] == [
        ("BTC", 42590, "coingecko"), ("XRP", 0.83579, "coingecko"),
    ]  # fmt: skip


def test_syncing_the_same_payload_again_changes_nothing(providers_http, settings):
    settings.MARKET_PROVIDERS = ["coingecko"]
    providers_http.script(MARKETS, Answer(body=payload(RECORDED_MARKETS)))
    first = sync("prices", limit=15)
    prices_before = list(Asset.objects.values_list("symbol", "price", "price_as_of"))
    second = sync("prices", limit=15)
    assert (first.inserted, first.updated) == (15, 15)
    assert (second.inserted, second.updated, second.details["stale_prices"]) == (
        0,
        0,
        15,
    )
    assert Asset.objects.count() == 15
    assert (
        list(Asset.objects.values_list("symbol", "price", "price_as_of"))
        == prices_before
    )


def test_when_the_primary_fails_the_next_provider_serves_and_the_run_says_so(
    providers_http, settings, btc
):
    settings.MARKET_PROVIDERS = ["coingecko", "coinmarketcap"]
    providers_http.script(MARKETS, Answer(503, b"down"))
    providers_http.script(
        CMC,
        Answer(body=payload("coinmarketcap/v1_cryptocurrency_listings_latest.json")),
    )
    run = sync("prices", limit=10)
    assert run.status == "succeeded"
    assert (run.provider, run.fallback_used) == ("coinmarketcap", True)
    assert run.providers_tried == ["coingecko", "coinmarketcap"]
    assert "coingecko" in run.error
    assert "503" in run.error
    btc.refresh_from_db()
    assert (btc.price, btc.price_source) == (9283.92, "coinmarketcap")


def test_when_every_provider_fails_the_run_fails_and_nothing_is_written(
    providers_http, settings, btc
):
    settings.MARKET_PROVIDERS = ["coingecko", "coinmarketcap"]
    providers_http.script(MARKETS, Answer(500, b"down"))
    providers_http.script(CMC, Answer(body=b"<html>not json"))
    run = sync("prices", limit=10)
    assert run.status == "failed"
    assert "malformed JSON" in run.error
    assert run.finished_at is not None
    assert list(Asset.objects.values_list("symbol", "price")) == [("BTC", None)]


def test_listings_with_bad_entries_count_them_and_store_the_rest(
    providers_http, settings
):
    settings.MARKET_PROVIDERS = ["coingecko"]
    entries = json.loads(payload(RECORDED_MARKETS))
    entries[0]["current_price"] = 0
    del entries[1]["symbol"]
    providers_http.script(MARKETS, Answer(body=json.dumps(entries).encode()))
    run = sync("prices", limit=15)
    assert run.rejected == 2
    assert run.rejected_reasons == {"non_positive_price": 1, "missing_field": 1}
    assert run.inserted == 13
    assert not Asset.objects.filter(coingecko_id__in=["bitcoin", "ripple"]).exists()


def test_each_fresh_price_is_published_to_its_symbol_group(settings, btc):
    settings.MARKET_PROVIDERS = ["replay"]
    btc.coingecko_id = None
    btc.save()
    pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel_prefix() + price_group("BTC"))
    pubsub.get_message(timeout=1)  # the subscription's confirmation

    run = sync("prices", limit=50)

    message = pubsub.get_message(timeout=5)
    pubsub.close()
    btc.refresh_from_db()
    assert run.status == "succeeded"
    assert message is not None
    frame = orjson.loads(message["data"])
    assert frame["type"] == "price"
    assert frame["symbol"] == "BTC"
    assert frame["price"] == btc.price
    assert frame["source"] == "replay"
    assert run.details["published"] == run.updated > 0


def test_with_redis_gone_a_sync_still_stores_prices_and_says_what_it_could_not_do(
    settings,
):
    from tests.servers import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.MARKET_PROVIDERS = ["replay"]
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"],
                                                      "LOCATION": dead}}  # fmt: skip
    run = sync("prices", limit=50)
    assert run.status == "succeeded"
    assert run.updated == Asset.objects.filter(price__isnull=False).count() > 0
    assert run.details["published"] == 0
    assert set(Asset.objects.values_list("price_source", flat=True)) == {"replay"}


# --- replay -------------------------------------------------------------------------


def test_replay_plays_the_recorded_closes_forward_one_step_at_a_time(settings):
    settings.REPLAY_STEP_SECONDS = 20
    series = recorded_series("binance_2018-06_BTC-USDT_1m.csv.gz")
    moment = datetime(2026, 11, 22, 12, 0, 5, tzinfo=UTC)
    tick = int(moment.timestamp()) // 20
    btc_now = next(
        p for p in Replay(now=moment).listings(limit=50).records if p.symbol == "BTC"
    )
    later = moment + timedelta(seconds=20)
    btc_later = next(
        p for p in Replay(now=later).listings(limit=50).records if p.symbol == "BTC"
    )
    assert btc_now.price == series[tick % len(series)][4]
    assert btc_later.price == series[(tick + 1) % len(series)][4]
    assert btc_now.as_of == datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert btc_later.as_of - btc_now.as_of == timedelta(seconds=20)


def test_replay_candles_are_recorded_candles_at_present_open_times(btc):
    series = recorded_series("coinbase_BTC-USD_1h.csv.gz")
    now = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
    fetched = Replay(now=now).candles(
        asset=btc,
        interval="1h",
        start=now - timedelta(hours=3),
        end=now + timedelta(hours=5),
    )
    assert [c.open_time.hour for c in fetched.records] == [
        10,
        11,
        12,
    ]  # never ahead of now
    for c in fetched.records:
        recorded = series[int(c.open_time.timestamp() // 3600) % len(series)]
        assert (c.open, c.high, c.low, c.close, c.volume) == recorded[1:]


# --- candles, gaps, backfill ---------------------------------------------------------


def test_a_candle_sync_is_idempotent_and_records_gaps(settings):
    from django.core.management import call_command

    call_command("load_demo_data", verbosity=0)
    settings.MARKET_PROVIDERS = ["replay"]
    first = sync("candles", limit=50, interval="1h", hours=6)
    second = sync("candles", limit=50, interval="1h", hours=6)
    assert first.status == "succeeded"
    replayed = [s for s, v in first.details["assets"].items() if v.startswith("replay")]
    assert set(replayed) == {"ADA", "BTC", "ETH", "NEO", "XRP"}  # the demo's 1h files
    assert first.inserted >= 5 * 6
    assert (second.inserted, second.updated) == (0, 0)
    assert Candle.objects.filter(source="replay").count() == first.inserted
    assert not CandleGap.objects.exists()


def candle_at(moment: datetime) -> CandleIn:
    return CandleIn(moment, 10.0, 12.0, 9.0, 11.0, 1.0)


def test_gaps_are_found_as_runs_of_missing_candles(btc):
    from prices.gaps import Gap, find_gaps, record_gaps

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    hours = [0, 1, 2, 5, 6, 8, 9]
    upsert_candles(asset=btc, interval="1h", source="test",
                   rows=[candle_at(t0 + timedelta(hours=h)) for h in hours])  # fmt: skip
    gaps = find_gaps(asset=btc, interval="1h", start=t0 - timedelta(hours=1),
                     end=t0 + timedelta(hours=10))  # fmt: skip
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    assert gaps == [Gap(h(-1), h(0), 1), Gap(h(3), h(5), 2), Gap(h(7), h(8), 1)]
    record_gaps(asset=btc, interval="1h", start=h(0), end=h(10))
    assert list(CandleGap.objects.values_list("start", "end", "missing")) == [
        (h(3), h(5), 2), (h(7), h(8), 1),
    ]  # fmt: skip


def test_monthly_gaps_follow_the_calendar(btc):
    from prices.gaps import Gap, find_gaps

    months = [datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 5)]
    upsert_candles(asset=btc, interval="1M", source="test",
                   rows=[candle_at(m) for m in months])  # fmt: skip
    gaps = find_gaps(asset=btc, interval="1M", start=months[0],
                     end=datetime(2024, 6, 1, tzinfo=UTC))  # fmt: skip
    assert gaps == [Gap(datetime(2024, 3, 1, tzinfo=UTC), months[2], 2)]


def test_backfill_rejects_bad_rows_counts_them_and_stores_the_rest(providers_http, btc):
    from prices.ingest.providers.binance import Binance

    raw = json.loads(payload("binance/api_v3_klines.json"))
    raw[4][3] = "70000.0"  # low above high: inconsistent
    providers_http.script(KLINES, Answer(body=json.dumps(raw).encode()))
    start = datetime.fromtimestamp(raw[0][0] / 1000, UTC)
    end = start + timedelta(minutes=10)
    params = {"symbol": "BTC", "interval": "1m", "start": start.isoformat(),
              "end": end.isoformat()}  # fmt: skip
    first = sync("backfill", providers=[Binance()], **params)
    again = sync("backfill", providers=[Binance()], **params)

    assert (first.status, first.inserted, first.rejected) == ("succeeded", 9, 1)
    assert first.rejected_reasons == {"ohlc_inconsistent": 1}
    assert Candle.objects.filter(asset=btc).count() == 9
    bad_time = datetime.fromtimestamp(raw[4][0] / 1000, UTC)
    assert not Candle.objects.filter(open_time=bad_time).exists()
    assert first.details == {"missing_before": 10, "missing_after": 1}
    # Only the hole is asked for again; nothing stored twice.
    assert (again.inserted, again.updated, again.rejected) == (0, 0, 1)
    assert Candle.objects.filter(asset=btc).count() == 9


class FlakyReplay(Replay):
    """Replay in small chunks that goes down after `good_calls` calls."""

    max_candles_per_call = 10

    def __init__(self, good_calls: int | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.good_calls = good_calls

    def candles(self, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.good_calls is not None and self.calls > self.good_calls:
            raise ProviderUnavailable("replay: down")
        return super().candles(**kwargs)


def test_an_interrupted_backfill_resumes_where_it_stopped(btc):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=35)
    params = {"symbol": "BTC", "interval": "1h", "start": start.isoformat(),
              "end": end.isoformat()}  # fmt: skip
    broken = sync("backfill", providers=[FlakyReplay(good_calls=2)], **params)
    assert broken.status == "failed"
    assert broken.inserted == 20  # two chunks of 10 committed before the failure
    assert Candle.objects.filter(asset=btc).count() == 20

    provider = FlakyReplay()
    resumed = sync("backfill", providers=[provider], **params)
    assert resumed.status == "succeeded"
    assert (resumed.inserted, resumed.details["missing_before"]) == (15, 15)
    assert provider.calls == 2  # 15 missing candles, 10 a call
    assert resumed.details["missing_after"] == 0
    assert Candle.objects.filter(asset=btc, interval="1h").count() == 35


# --- lock -----------------------------------------------------------------------------


class BlockingReplay(Replay):
    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def listings(self, *, limit: int):  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.release.wait(10)
        return super().listings(limit=limit)


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_one_job_never_both_write():
    blocking = BlockingReplay()
    first, second = new_run("prices", limit=50), new_run("prices", limit=50)
    outcome: dict[str, SyncRun] = {}

    def run_first() -> None:
        try:
            outcome["first"] = run_sync(run_id=first.pk, providers=[blocking])
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    thread.start()
    assert blocking.entered.wait(10)
    # The first run holds the lock and is mid-fetch: the second must not write.
    overlapping = run_sync(run_id=second.pk, providers=[Replay()])
    assert overlapping.status == "skipped"
    assert (overlapping.inserted, overlapping.updated) == (0, 0)
    assert not Asset.objects.exists()
    blocking.release.set()
    thread.join(10)
    assert outcome["first"].status == "succeeded"
    assert outcome["first"].inserted == Asset.objects.count() > 0
    # Released: a later run takes the lock again.
    assert run_sync(
        run_id=new_run("prices", limit=50).pk, providers=[Replay()]
    ).status == ("succeeded")


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_died_is_marked_failed_by_the_next_run_of_its_job(settings):
    settings.MARKET_PROVIDERS = ["replay"]
    dead = new_run("prices", limit=50)
    other_series = new_run("backfill", symbol="ETH", interval="1h")
    SyncRun.objects.filter(pk__in=[dead.pk, other_series.pk]).update(status="running")
    # The "worker" of `dead`: its own database session holding the job's lock.
    worker = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    worker.execute(
        "SELECT pg_advisory_lock(hashtextextended(%s, 0))", [lock_key("prices", {})]
    )
    assert sync("prices", limit=50).status == "skipped"  # alive: left alone
    dead.refresh_from_db()
    assert dead.status == "running"

    worker.close()  # the worker dies; PostgreSQL drops its lock with the session
    later = sync("prices", limit=50)
    assert later.status == "succeeded"
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error == (
        f"abandoned: its worker stopped before the run ended (found by run #{later.pk})"
    )
    assert dead.finished_at is not None
    other_series.refresh_from_db()
    assert other_series.status == "running"  # another lock: not this run's business


def test_a_finished_run_is_not_run_again(settings):
    settings.MARKET_PROVIDERS = ["replay"]
    run = sync("prices", limit=50)
    finished_at = run.finished_at
    again = run_sync(run_id=run.pk)
    assert (again.status, again.finished_at) == ("succeeded", finished_at)


# --- cleanup and report --------------------------------------------------------------


def test_cleanup_deletes_only_fine_candles_past_retention(settings, btc):
    settings.CANDLE_RETENTION_DAYS = 30
    now = datetime.now(UTC).replace(second=0, microsecond=0, minute=0)
    old, recent = now - timedelta(days=40), now - timedelta(days=10)
    for interval in ("1m", "1h"):
        upsert_candles(asset=btc, interval=interval, source="test",
                       rows=[candle_at(old), candle_at(recent)])  # fmt: skip
    run = sync("cleanup")
    assert run.details["deleted"] == 1
    assert sorted(Candle.objects.values_list("interval", "open_time")) == [
        ("1h", old), ("1h", recent), ("1m", recent),
    ]  # fmt: skip


def test_cleanup_forgets_finished_sync_runs_past_their_retention(settings):
    settings.SYNC_RUN_RETENTION_DAYS = 7
    now = datetime.now(UTC)
    old = SyncRunFactory(status="succeeded", finished_at=now - timedelta(days=8))
    recent = SyncRunFactory(status="failed", finished_at=now - timedelta(days=6))
    queued = SyncRunFactory()
    run = sync("cleanup")
    assert run.details["sync_runs_deleted"] == 1
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {
        recent.pk,
        queued.pk,
        run.pk,
    }
    assert not SyncRun.objects.filter(pk=old.pk).exists()


def test_cleanup_is_off_without_a_retention(btc):
    upsert_candles(asset=btc, interval="1m", source="test",
                   rows=[candle_at(datetime(2020, 1, 1, tzinfo=UTC))])  # fmt: skip
    assert sync("cleanup").details["deleted"] == 0
    assert Candle.objects.count() == 1


def test_the_daily_report_ranks_movers_from_the_stored_listings(btc, eth):
    Asset.objects.filter(pk=btc.pk).update(price=100.0, change_24h=5.0, market_cap=1e9,
                                           volume_24h=1e6, price_source="coingecko")  # fmt: skip
    Asset.objects.filter(pk=eth.pk).update(price=10.0, change_24h=-2.0, market_cap=5e8,
                                           volume_24h=2e6, price_source="coingecko")  # fmt: skip
    run = sync("report", day="2026-11-21")
    report = MarketReport.objects.get(day="2026-11-21")
    assert run.status == "succeeded"
    assert report.data["total_market_cap"] == 1.5e9
    assert report.data["total_volume_24h"] == 3e6
    assert [g["symbol"] for g in report.data["gainers"]] == ["BTC", "ETH"]
    assert [g["symbol"] for g in report.data["losers"]] == ["ETH", "BTC"]
