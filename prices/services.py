"""Writes to price history. Every candle enters through `upsert_candles`."""

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Protocol, runtime_checkable

import psycopg
from celery import current_app
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

from assets.models import Asset
from marketpulse.api import caching
from prices.intervals import DURATIONS, Interval, interval_origin, is_aligned
from prices.records import CandleIn
from prices.rollups import refresh_rollups

# Nothing before Bitcoin's first block is market data.
EARLIEST_OPEN_TIME = datetime(2009, 1, 3, tzinfo=UTC)
# Clocks differ a little between providers and us; more than this ahead is a bad row.
FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH_SIZE = 50_000
logger = logging.getLogger(__name__)


@dataclass
class Upserted:
    """What one upsert did. `received` = inserted + updated + unchanged + duplicate + rejected."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    first_open_time: datetime | None = None
    last_open_time: datetime | None = None

    def add(self, other: "Upserted") -> None:
        for name in (
            "received",
            "inserted",
            "updated",
            "unchanged",
            "duplicate",
            "rejected",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        times = [
            t
            for t in (
                self.first_open_time,
                other.first_open_time,
                self.last_open_time,
                other.last_open_time,
            )
            if t is not None
        ]
        if times:
            self.first_open_time, self.last_open_time = min(times), max(times)


@runtime_checkable
class CsvRows(Protocol):
    """Candle CSV lines (timestamp,open,high,low,close,volume; no header) in batches.

    `upsert_candles` lets PostgreSQL parse and check these itself (the fast path for
    files) and hands a batch to `parse` (Python) only when PostgreSQL cannot vouch for it.
    """

    def batches(self, size: int) -> Iterator[list[str]]: ...

    def parse(self, lines: list[str]) -> tuple[list[CandleIn], int]:
        """The batch as rows, and how many lines could not be parsed."""
        ...


def rejection_reason(row: CandleIn, *, interval: str, now: datetime) -> str | None:
    """Why a candle must not be stored, or None when it is sound."""
    values = (row.open, row.high, row.low, row.close, row.volume)
    if not all(math.isfinite(v) for v in values):
        return "not_a_number"
    if min(row.open, row.high, row.low, row.close) <= 0:
        return "non_positive_price"
    if not (
        row.low <= min(row.open, row.close) and row.high >= max(row.open, row.close)
    ):
        return "ohlc_inconsistent"
    if row.volume < 0:
        return "negative_volume"
    if row.open_time.tzinfo is None:
        return "naive_open_time"
    if row.open_time < EARLIEST_OPEN_TIME:
        return "open_time_too_old"
    if row.open_time > now + FUTURE_TOLERANCE:
        return "open_time_in_future"
    if not is_aligned(row.open_time, interval):
        return "open_time_not_aligned"
    return None


_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS candle_stage (
    seq integer, open_time timestamptz, open float8, high float8, low float8,
    close float8, volume float8
) ON COMMIT DELETE ROWS
"""

# The last row wins when a batch repeats an open time; unchanged rows are not rewritten.
_UPSERT = """
WITH upserted AS (
    INSERT INTO prices_candle
        (asset_id, interval, open_time, open, high, low, close, volume, source)
    SELECT DISTINCT ON (open_time)
        %(asset_id)s, %(interval)s, open_time, open, high, low, close, volume, %(source)s
    FROM candle_stage
    ORDER BY open_time, seq DESC
    ON CONFLICT (asset_id, interval, open_time) DO UPDATE SET
        open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
        close = EXCLUDED.close, volume = EXCLUDED.volume, source = EXCLUDED.source
    WHERE (prices_candle.open, prices_candle.high, prices_candle.low,
           prices_candle.close, prices_candle.volume, prices_candle.source)
       IS DISTINCT FROM
          (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low,
           EXCLUDED.close, EXCLUDED.volume, EXCLUDED.source)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
       (SELECT count(DISTINCT open_time) FROM candle_stage)
FROM upserted
"""


def _batches(rows: Iterable[CandleIn], size: int) -> Iterator[list[CandleIn]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert_candles(
    *,
    asset: Asset,
    interval: str,
    rows: Iterable[CandleIn] | CsvRows,
    source: str,
    batch_size: int = BATCH_SIZE,
) -> Upserted:
    """Idempotent: a re-import changes nothing; bad rows are counted, never stored.

    Each batch is COPYed into a temporary table and merged in one statement, in its own
    transaction, so an interrupted import keeps every finished batch.
    """
    total = Upserted()
    now = datetime.now(UTC)
    for result in _batch_results(
        asset=asset, interval=interval, rows=rows, source=source,
        batch_size=batch_size, now=now,
    ):  # fmt: skip
        total.add(result)
    if (total.inserted or total.updated) and total.first_open_time:
        announce_candles(asset=asset, interval=interval, written=total)
    return total


def announce_candles(*, asset: Asset, interval: str, written: Upserted) -> None:
    """After commit, sends each task of settings.CANDLE_WRITE_TASKS (by name: the store
    imports no app above it) the range just written; a broker outage is logged only."""
    names = settings.CANDLE_WRITE_TASKS
    if not names or written.first_open_time is None or written.last_open_time is None:
        return
    args = [asset.pk, interval, written.first_open_time.isoformat(),
            written.last_open_time.isoformat()]  # fmt: skip

    def send() -> None:
        for name in names:
            try:
                current_app.send_task(name, args=args)
            except Exception:  # the candles are stored; only the follow-up is lost
                logger.warning("could not enqueue %s", name, exc_info=True)

    transaction.on_commit(send)


def _batch_results(
    *,
    asset: Asset,
    interval: str,
    rows: Iterable[CandleIn] | CsvRows,
    source: str,
    batch_size: int,
    now: datetime,
) -> Iterator[Upserted]:
    """Each batch upserted in its own transaction; files take the CSV fast path."""
    if isinstance(rows, CsvRows):
        for lines in rows.batches(batch_size):
            yield _upsert_csv_batch(asset=asset, interval=interval, lines=lines,
                                    parse=rows.parse, source=source, now=now)  # fmt: skip
    else:
        for batch in _batches(rows, batch_size):
            yield _upsert_batch(asset=asset, interval=interval, batch=batch,
                                source=source, now=now)  # fmt: skip


def _upsert_batch(
    *, asset: Asset, interval: str, batch: list[CandleIn], source: str, now: datetime
) -> Upserted:
    result = Upserted(received=len(batch))
    valid: list[CandleIn] = []
    for row in batch:
        reason = rejection_reason(row, interval=interval, now=now)
        if reason:
            result.rejected += 1
            result.reasons[reason] += 1
        else:
            valid.append(row)
    if not valid:
        return result
    result.first_open_time = min(r.open_time for r in valid)
    result.last_open_time = max(r.open_time for r in valid)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_STAGE)
        # Empty already unless we run inside a caller's transaction (ON COMMIT never came).
        cursor.execute("TRUNCATE candle_stage")
        with cursor.copy(
            "COPY candle_stage (seq, open_time, open, high, low, close, volume) FROM STDIN"
        ) as copy:
            for seq, r in enumerate(valid):
                copy.write_row(
                    (seq, r.open_time, r.open, r.high, r.low, r.close, r.volume)
                )
        _merge_stage(cursor, result, asset=asset, interval=interval, source=source,
                     staged=len(valid))  # fmt: skip
    return result


def _merge_stage(
    cursor: CursorWrapper,
    result: Upserted,
    *,
    asset: Asset,
    interval: str,
    source: str,
    staged: int,
) -> None:
    cursor.execute(
        _UPSERT, {"asset_id": asset.pk, "interval": interval, "source": source}
    )
    inserted, updated, distinct = cursor.fetchone()
    result.inserted, result.updated = inserted, updated
    result.duplicate = staged - distinct
    result.unchanged = distinct - inserted - updated
    if inserted or updated:
        # Same transaction: rollups never disagree with the candles they summarise.
        if interval == Interval.M1:
            # Rows were written, so both bounds are set.
            assert result.first_open_time is not None
            assert result.last_open_time is not None
            refresh_rollups(
                asset_id=asset.pk,
                start=result.first_open_time,
                end=result.last_open_time,
            )
        # Cached responses for this asset go stale once the new rows are visible.
        transaction.on_commit(
            lambda: caching.bump_versions([asset.symbol], listing=False)
        )


# --- The CSV fast path: PostgreSQL parses and checks the lines itself. ---------------
# Only timestamps of the one canonical shape (2024-01-31T23:59:00Z, what every exporter
# we know writes) are judged in SQL; a batch with any other line, or one PostgreSQL
# cannot cast, is judged by Python instead, so both paths always give one answer.

_STAGE_TEXT = """
CREATE TEMP TABLE IF NOT EXISTS candle_stage_text (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    ts text, o text, h text, l text, c text, v text
) ON COMMIT DELETE ROWS
"""
# Cheap string tests (no regex): hours, minutes and seconds in Python's ranges too.
_CANONICAL = """(ts LIKE '____-__-__T__:__:__Z' AND substr(ts, 12, 2) <= '23'
                 AND substr(ts, 15, 2) <= '59' AND substr(ts, 18, 2) <= '59')"""
_PYTHON = "python"

# The same checks, in the same order, as `rejection_reason`.
_JUDGE = """
WITH parsed AS MATERIALIZED (
    SELECT seq, {canonical} AS canonical, ts::timestamptz AS t, o::float8 AS o,
           h::float8 AS h, l::float8 AS l, c::float8 AS c, v::float8 AS v
    FROM candle_stage_text
), judged AS MATERIALIZED (
    SELECT *, CASE
        WHEN NOT canonical THEN '{python}'
        WHEN 'NaN' IN (o, h, l, c, v)
          OR 'Infinity' IN (abs(o), abs(h), abs(l), abs(c), abs(v))
            THEN 'not_a_number'
        WHEN least(o, h, l, c) <= 0 THEN 'non_positive_price'
        WHEN NOT (l <= least(o, c) AND h >= greatest(o, c)) THEN 'ohlc_inconsistent'
        WHEN v < 0 THEN 'negative_volume'
        WHEN t < %(earliest)s THEN 'open_time_too_old'
        WHEN t > %(latest)s THEN 'open_time_in_future'
        WHEN NOT ({aligned}) THEN 'open_time_not_aligned'
    END AS reason
    FROM parsed
), staged AS (
    INSERT INTO candle_stage (seq, open_time, open, high, low, close, volume)
    SELECT seq, t, o, h, l, c, v FROM judged WHERE reason IS NULL
    RETURNING open_time
)
SELECT NULL, count(*), min(open_time), max(open_time) FROM staged
UNION ALL
SELECT reason, count(*), NULL, NULL FROM judged WHERE reason IS NOT NULL GROUP BY reason
"""


def _aligned_sql(interval: str) -> str:
    if interval == Interval.MO1:
        return "t = date_trunc('month', t, 'UTC')"
    origin = interval_origin(interval).timestamp()
    seconds = int(DURATIONS[interval].total_seconds())
    return f"mod(extract(epoch FROM t) - {int(origin)}, {seconds}) = 0"


class _NeedsPython(Exception):
    pass


def _upsert_csv_batch(
    *,
    asset: Asset,
    interval: str,
    lines: list[str],
    parse: Callable[[list[str]], tuple[list[CandleIn], int]],
    source: str,
    now: datetime,
) -> Upserted:
    result = Upserted(received=len(lines))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_STAGE_TEXT)
            cursor.execute("TRUNCATE candle_stage_text RESTART IDENTITY")
            with cursor.copy(
                "COPY candle_stage_text (ts, o, h, l, c, v) FROM STDIN (FORMAT csv)"
            ) as copy:
                copy.write("".join(lines).encode())
            cursor.execute(_STAGE)
            cursor.execute("TRUNCATE candle_stage")
            cursor.execute(
                _JUDGE.format(
                    canonical=_CANONICAL, python=_PYTHON, aligned=_aligned_sql(interval)
                ),
                {"earliest": EARLIEST_OPEN_TIME, "latest": now + FUTURE_TOLERANCE},
            )
            staged = 0
            for reason, count, first, last in cursor.fetchall():
                if reason == _PYTHON:
                    raise _NeedsPython  # rolls the batch back
                if reason is None:
                    staged = count
                    result.first_open_time, result.last_open_time = first, last
                else:
                    result.rejected += count
                    result.reasons[reason] += count
            if staged:
                _merge_stage(cursor, result, asset=asset, interval=interval,
                             source=source, staged=staged)  # fmt: skip
        return result
    except (_NeedsPython, DatabaseError, psycopg.Error):
        # Malformed lines or values PostgreSQL refuses: Python judges this batch.
        rows, unparsable = parse(lines)
        result = _upsert_batch(
            asset=asset, interval=interval, batch=rows, source=source, now=now
        )
        result.received += unparsable
        result.rejected += unparsable
        if unparsable:
            result.reasons["unparsable_line"] += unparsable
        return result
