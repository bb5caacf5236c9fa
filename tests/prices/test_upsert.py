"""`upsert_candles`: the one write path for candles, against the real PostgreSQL."""

import csv
import gzip
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from prices.importing import import_candle_file
from prices.models import Candle
from prices.services import CandleIn, upsert_candles
from tests.factories import CandleFactory
from tests.prices.demo import DEMO_DIR

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def candle(minutes: int, close: float = 100.0, **changes: float) -> CandleIn:
    values = {"open": 100.0, "high": 110.0, "low": 90.0, "close": close, "volume": 5.0}
    values.update(changes)
    return CandleIn(open_time=T0 + timedelta(minutes=minutes), **values)


def stored(asset) -> list[tuple]:  # type: ignore[no-untyped-def]
    return list(
        Candle.objects.filter(asset=asset)
        .order_by("open_time")
        .values_list("open_time", "open", "high", "low", "close", "volume", "source")
    )


def test_inserts_then_a_second_run_changes_nothing(btc):
    rows = [candle(i) for i in range(10)]
    first = upsert_candles(asset=btc, interval="1m", rows=rows, source="test")
    second = upsert_candles(asset=btc, interval="1m", rows=rows, source="test")
    assert (first.inserted, first.updated, first.unchanged) == (10, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 10)
    assert len(stored(btc)) == 10


def test_a_changed_candle_is_updated_in_place(btc):
    upsert_candles(asset=btc, interval="1m", rows=[candle(0), candle(1)], source="test")
    result = upsert_candles(
        asset=btc,
        interval="1m",
        rows=[candle(0), candle(1, close=105.0)],
        source="test",
    )
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    assert [row[4] for row in stored(btc)] == [100.0, 105.0]


def test_the_last_row_wins_when_a_batch_repeats_an_open_time(btc):
    rows = [candle(0, close=101.0), candle(1), candle(0, close=102.0)]
    result = upsert_candles(asset=btc, interval="1m", rows=rows, source="test")
    assert (result.inserted, result.duplicate) == (2, 1)
    assert stored(btc)[0][4] == 102.0


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (candle(0, low=120.0), "ohlc_inconsistent"),
        (candle(0, high=95.0), "ohlc_inconsistent"),
        (candle(0, open=0.0, low=0.0), "non_positive_price"),
        (candle(0, volume=-1.0), "negative_volume"),
        (candle(0, close=float("nan")), "not_a_number"),
        (candle(0, high=float("inf")), "not_a_number"),
        (CandleIn(T0 + timedelta(seconds=30), 1, 1, 1, 1, 1), "open_time_not_aligned"),
        (
            CandleIn(datetime(2001, 1, 1, tzinfo=UTC), 1, 1, 1, 1, 1),
            "open_time_too_old",
        ),
        (
            CandleIn(datetime(2999, 1, 1, tzinfo=UTC), 1, 1, 1, 1, 1),
            "open_time_in_future",
        ),
    ],
)
def test_bad_rows_are_counted_with_a_reason_and_not_stored(btc, row, reason):
    result = upsert_candles(asset=btc, interval="1m", rows=[row, candle(5)], source="t")
    assert (result.received, result.inserted, result.rejected) == (2, 1, 1)
    assert result.reasons == {reason: 1}
    assert len(stored(btc)) == 1


def test_alignment_follows_the_interval(btc):
    monday = datetime(2024, 3, 4, tzinfo=UTC)
    rows = {
        "1h": [CandleIn(T0 + timedelta(hours=1), 1, 1, 1, 1, 1)],
        "4h": [
            CandleIn(T0 + timedelta(hours=2), 1, 1, 1, 1, 1)
        ],  # not on a 4h boundary
        "1w": [
            CandleIn(monday, 1, 1, 1, 1, 1),
            CandleIn(T0, 1, 1, 1, 1, 1),
        ],  # T0: Friday
        "1M": [CandleIn(T0, 1, 1, 1, 1, 1), CandleIn(monday, 1, 1, 1, 1, 1)],
    }
    outcome = {
        interval: upsert_candles(
            asset=btc, interval=interval, rows=r, source="t"
        ).rejected
        for interval, r in rows.items()
    }
    assert outcome == {"1h": 0, "4h": 1, "1w": 1, "1M": 1}


def test_the_database_refuses_broken_candles_even_past_the_service(btc):
    with pytest.raises(IntegrityError), transaction.atomic():
        CandleFactory(asset=btc, open_time=T0, open=1, high=0.5, low=0.4, close=1)


def test_batches_commit_separately_and_add_up(btc):
    rows = [candle(i) for i in range(25)]
    result = upsert_candles(
        asset=btc, interval="1m", rows=rows, source="t", batch_size=10
    )
    assert (result.received, result.inserted) == (25, 25)
    assert result.first_open_time == T0
    assert result.last_open_time == T0 + timedelta(minutes=24)


def test_a_real_file_is_stored_exactly_as_written(btc):
    """The unsorted Coinbase hourly file: every row stored, values equal to the file's."""
    path = DEMO_DIR / "coinbase_BTC-USD_1h.csv.gz"
    with gzip.open(path, "rt") as handle:
        expected = {
            datetime.fromisoformat(r["timestamp"]): tuple(
                float(r[k]) for k in ("open", "high", "low", "close", "volume")
            )
            for r in csv.DictReader(handle)
        }
    result = import_candle_file(path=path, asset=btc, interval="1h", source="coinbase")
    assert result.inserted == len(expected) == 20111
    got = {row[0]: row[1:6] for row in stored(btc)}
    assert got == expected


def test_unparsable_lines_are_counted(btc, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-03-01T00:00:00Z,1,2,0.5,1.5,10\n"
        "not-a-date,1,2,0.5,1.5,10\n"
        "2024-03-01T00:02:00Z,1,2\n"
    )
    result = import_candle_file(path=path, asset=btc, interval="1m", source="t")
    assert (result.received, result.inserted, result.rejected) == (3, 1, 2)
    assert result.reasons == {"unparsable_line": 2}
