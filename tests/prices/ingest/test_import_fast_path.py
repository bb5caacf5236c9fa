"""The CSV fast path of `upsert_candles` gives exactly what the Python path gives."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assets.models import Asset
from prices import services
from prices.importing import CandleCsvFile, import_candle_file
from prices.models import Candle
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

HEADER = "timestamp,open,high,low,close,volume\n"
FUTURE = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:00:00Z")

# One line per rule of `rejection_reason`, plus good rows and a repeated open time.
CANONICAL_LINES = [
    "2024-01-01T00:00:00Z,10,12,9,11,1.5",
    "2024-01-01T01:00:00Z,10,12,9,11,0",
    "2024-01-01T02:00:00Z,NaN,12,9,11,1",  # not_a_number
    "2024-01-01T03:00:00Z,10,inf,9,11,1",  # not_a_number
    "2024-01-01T04:00:00Z,0,12,0,11,1",  # non_positive_price
    "2024-01-01T05:00:00Z,10,12,9,13,1",  # ohlc_inconsistent (close above high)
    "2024-01-01T06:00:00Z,10,12,9,11,-1",  # negative_volume
    "2008-01-01T00:00:00Z,10,12,9,11,1",  # open_time_too_old
    f"{FUTURE},10,12,9,11,1",  # open_time_in_future
    "2024-01-01T07:30:00Z,10,12,9,11,1",  # open_time_not_aligned
    "2024-01-01T08:00:00Z,10,12,9,11,1",
    "2024-01-01T08:00:00Z,10,12,9,10.5,2",  # same open time again: the last one wins
    "2024-01-01T09:00:00Z,0.00005352,0.000054,0.00005348,0.000054,100380.64502838",
]


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def python_path(path: Path, asset: Asset, interval: str) -> services.Upserted:
    """The reference: every line parsed in Python, then the row path of upsert_candles."""
    lines = list(next(CandleCsvFile(path).batches(10_000)))
    rows, unparsable = CandleCsvFile(path).parse(lines)
    result = services.upsert_candles(asset=asset, interval=interval, rows=rows,
                                     source="t")  # fmt: skip
    result.received += unparsable
    result.rejected += unparsable
    if unparsable:
        result.reasons["unparsable_line"] += unparsable
    return result


def stored(asset: Asset) -> list[tuple]:
    return list(
        Candle.objects.filter(asset=asset)
        .order_by("interval", "open_time")
        .values_list("interval", "open_time", "open", "high", "low", "close", "volume")
    )


@pytest.fixture
def pair(db):  # type: ignore[no-untyped-def]
    return AssetFactory(symbol="FAST", name="f"), AssetFactory(symbol="SLOW", name="s")


@pytest.fixture
def python_batches(monkeypatch) -> Counter:
    """Counts the batches the Python row path judged."""
    calls: Counter = Counter()
    original = services._upsert_batch

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        calls["batches"] += 1
        return original(**kwargs)

    monkeypatch.setattr(services, "_upsert_batch", counting)
    return calls


def summary(result: services.Upserted) -> tuple:
    return (result.received, result.inserted, result.updated, result.unchanged,
            result.duplicate, result.rejected, dict(result.reasons),
            result.first_open_time, result.last_open_time)  # fmt: skip


def test_canonical_files_are_judged_in_sql_exactly_as_python_judges_them(
    tmp_path, pair, python_batches
):
    fast, slow = pair
    path = write(tmp_path, "c.csv", CANONICAL_LINES)
    got = import_candle_file(path=path, asset=fast, interval="1h", source="t")
    assert python_batches["batches"] == 0  # the fast path did it all
    want = python_path(path, slow, "1h")
    assert summary(got) == summary(want)
    assert got.reasons == {
        "not_a_number": 2, "non_positive_price": 1, "ohlc_inconsistent": 1,
        "negative_volume": 1, "open_time_too_old": 1, "open_time_in_future": 1,
        "open_time_not_aligned": 1,
    }  # fmt: skip
    assert (got.inserted, got.duplicate) == (4, 1)
    assert stored(fast) == stored(slow)
    assert (
        Candle.objects.get(
            asset=fast, open_time=datetime(2024, 1, 1, 8, tzinfo=UTC)
        ).close
        == 10.5
    )


@pytest.mark.parametrize(
    ("interval", "lines"),
    [
        ("1w", ["2024-01-01T00:00:00Z,1,2,1,2,1", "2024-01-03T00:00:00Z,1,2,1,2,1"]),
        ("1M", ["2024-02-01T00:00:00Z,1,2,1,2,1", "2024-02-29T00:00:00Z,1,2,1,2,1"]),
        ("5m", ["2024-02-01T00:05:00Z,1,2,1,2,1", "2024-02-01T00:06:00Z,1,2,1,2,1"]),
    ],
)
def test_alignment_in_sql_matches_python(
    tmp_path, pair, python_batches, interval, lines
):
    fast, slow = pair
    path = write(tmp_path, "a.csv", lines)
    got = import_candle_file(path=path, asset=fast, interval=interval, source="t")
    assert python_batches["batches"] == 0
    assert summary(got) == summary(python_path(path, slow, interval))
    assert (got.inserted, got.reasons) == (1, {"open_time_not_aligned": 1})


@pytest.mark.parametrize(
    "odd_line",
    [
        "2024-01-01T03:00:00+00:00,10,12,9,11,1",  # another zone spelling
        "2024-01-01T03:00:00,10,12,9,11,1",  # naive
        "2024-01-01T03:00:00Z,10,12,9",  # too few fields
        "2024-01-01T03:00:00Z,ten,12,9,11,1",  # not a number
        "2024-02-30T03:00:00Z,10,12,9,11,1",  # no such day
        "2024-01-01T24:00:00Z,10,12,9,11,1",  # PostgreSQL would accept 24:00
        "",  # blank line
    ],
)
def test_a_batch_sql_cannot_vouch_for_is_judged_by_python(
    tmp_path, pair, python_batches, odd_line
):
    fast, slow = pair
    path = write(tmp_path, "o.csv", [CANONICAL_LINES[0], odd_line, CANONICAL_LINES[1]])
    got = import_candle_file(path=path, asset=fast, interval="1h", source="t")
    assert python_batches["batches"] == 1
    assert summary(got) == summary(python_path(path, slow, "1h"))
    assert stored(fast) == stored(slow)
    assert got.received == 3


def test_a_reimport_through_the_fast_path_changes_nothing(tmp_path, pair):
    fast, _ = pair
    path = write(tmp_path, "r.csv", CANONICAL_LINES)
    import_candle_file(path=path, asset=fast, interval="1h", source="t")
    before = stored(fast)
    again = import_candle_file(path=path, asset=fast, interval="1h", source="t")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert stored(fast) == before
