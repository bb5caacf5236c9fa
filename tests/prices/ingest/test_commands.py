"""`import_candles`, `backfill` and `sync_beat_schedule`, run as commands."""

import gzip
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from prices.ingest.schedule import default_schedule
from prices.models import Candle, SyncRun
from tests.prices.demo import DEMO_DIR

pytestmark = pytest.mark.django_db

DEMO_FILE = DEMO_DIR / "coinbase_BTC-USD_1h.csv.gz"


def run(*args: str) -> str:
    out = StringIO()
    extra = () if args[0] == "sync_beat_schedule" else ("--no-progress",)
    call_command(*args, *extra, stdout=out)
    return out.getvalue()


def test_importing_a_file_twice_changes_nothing_the_second_time(btc):
    with gzip.open(DEMO_FILE, "rt") as handle:
        lines = handle.read().splitlines()[1:]
    distinct = len({line.split(",")[0] for line in lines})
    first = run("import_candles", str(DEMO_FILE), "--symbol", "btc", "--interval", "1h")
    second = run(
        "import_candles", str(DEMO_FILE), "--symbol", "BTC", "--interval", "1h"
    )
    assert f"{len(lines)} rows read, {distinct} inserted, 0 updated" in first
    assert f"0 inserted, 0 updated, {distinct} unchanged" in second
    assert Candle.objects.filter(asset=btc, interval="1h").count() == distinct


def test_import_reports_rejected_rows_with_reasons(tmp_path, btc):
    path = tmp_path / "btc.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-01-01T00:00:00Z,10,12,9,11,1\n"
        "2024-01-01T01:00:00Z,10,8,9,11,1\n"  # high below low
        "2024-01-01T02:30:00Z,10,12,9,11,1\n"  # not on the hour
        "2024-01-01T03:00:00Z,ten,12,9,11,1\n"
    )
    out = run("import_candles", str(path), "--symbol", "BTC", "--interval", "1h")
    assert "4 rows read, 1 inserted" in out
    assert "3 rejected" in out
    for reason in ("ohlc_inconsistent", "open_time_not_aligned", "unparsable_line"):
        assert f"rejected 1: {reason}" in out
    assert Candle.objects.count() == 1


def test_import_refuses_unknown_assets_and_bad_headers(tmp_path, btc):
    with pytest.raises(CommandError, match="unknown asset DOGE"):
        run("import_candles", str(DEMO_FILE), "--symbol", "DOGE", "--interval", "1h")
    bad = tmp_path / "bad.csv"
    bad.write_text("time,price\n1,2\n")
    with pytest.raises(CommandError, match="expected header"):
        run("import_candles", str(bad), "--symbol", "BTC", "--interval", "1h")
    assert Candle.objects.count() == 0


def test_backfill_command_fills_the_range_and_a_rerun_finds_nothing_missing(btc):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = (end - timedelta(hours=12)).isoformat()
    args = ("backfill", "btc", "--interval", "1h", "--start", start, "--end", end.isoformat(),
            "--provider", "replay")  # fmt: skip
    first = run(*args)
    second = run(*args)
    assert "succeeded: 12 missing before, 0 after; 12 inserted" in first
    assert "succeeded: 0 missing before, 0 after; 0 inserted" in second
    assert SyncRun.objects.filter(job="backfill").count() == 2


def test_backfill_command_fails_visibly_when_no_provider_has_the_series(btc):
    with pytest.raises(CommandError, match="failed"):
        run("backfill", "BTC", "--interval", "15m", "--start", "2024-01-01",
            "--end", "2024-01-02", "--provider", "replay")  # fmt: skip
    assert "replay: no 15m recording" in SyncRun.objects.get().error


def test_the_beat_schedule_is_created_once_and_admin_edits_survive(settings):
    settings.MARKET_PROVIDERS = ["replay"]
    run("sync_beat_schedule")
    names = {e.name for e in default_schedule() if e.task == "prices.scheduled_sync"}
    assert set(PeriodicTask.objects.filter(task="prices.scheduled_sync")
               .values_list("name", flat=True)) == names  # fmt: skip
    purge = PeriodicTask.objects.get(name="housekeeping: expired idempotency keys")
    assert purge.task == "marketpulse.purge_idempotency_keys"
    five = PeriodicTask.objects.get(name="prices: top 50 every 5 minutes")
    assert (five.interval.every, five.interval.period) == (300, "seconds")
    assert json.loads(five.kwargs) == {"job": "prices", "limit": 50}
    assert five.expire_seconds == 240
    hourly = PeriodicTask.objects.get(name="candles: top 200 recent 1h candles hourly")
    assert (hourly.crontab.minute, hourly.crontab.hour) == ("7", "*")
    assert PeriodicTask.objects.get(name="prices: replay tick").enabled

    five.enabled = False  # an operator's edit in the admin
    five.save()
    assert "0 entries created" in run("sync_beat_schedule")
    five.refresh_from_db()
    assert not five.enabled


def test_the_replay_tick_is_off_when_live_providers_come_first(settings):
    settings.MARKET_PROVIDERS = ["coingecko", "replay"]
    run("sync_beat_schedule")
    assert not PeriodicTask.objects.get(name="prices: replay tick").enabled


def test_check_gaps_lists_the_demo_datas_real_hole_and_records_it(btc):
    from prices.models import CandleGap

    demo = DEMO_DIR / "coinbase_BTC-USD_1d.csv.gz"
    run("import_candles", str(demo), "--symbol", "BTC", "--interval", "1d")
    out = StringIO()
    call_command("check_gaps", "btc", "--interval", "1d", stdout=out)
    # data/demo/README.md: the daily CryptoDataDownload files share a 12-day hole.
    hole = (datetime(2019, 3, 20, tzinfo=UTC), datetime(2019, 4, 1, tzinfo=UTC), 12)
    assert list(CandleGap.objects.values_list("start", "end", "missing")) == [hole]
    assert "BTC 1d: 1 gaps, 12 missing" in out.getvalue()
