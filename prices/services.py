"""Writes to price history. Every candle enters through `upsert_candles`."""

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from django.db import connection, transaction

from assets.models import Asset
from prices import caching
from prices.intervals import Interval, is_aligned
from prices.rollups import refresh_rollups

# Nothing before Bitcoin's first block is market data.
EARLIEST_OPEN_TIME = datetime(2009, 1, 3, tzinfo=UTC)
# Clocks differ a little between providers and us; more than this ahead is a bad row.
FUTURE_TOLERANCE = timedelta(minutes=5)
BATCH_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class CandleIn:
    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


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
    rows: Iterable[CandleIn],
    source: str,
    batch_size: int = BATCH_SIZE,
) -> Upserted:
    """Idempotent: a re-import changes nothing; bad rows are counted, never stored.

    Each batch is COPYed into a temporary table and merged in one statement, in its own
    transaction, so an interrupted import keeps every finished batch.
    """
    total = Upserted()
    now = datetime.now(UTC)
    for batch in _batches(rows, batch_size):
        total.add(
            _upsert_batch(
                asset=asset, interval=interval, batch=batch, source=source, now=now
            )
        )
    return total


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
        cursor.execute(
            _UPSERT, {"asset_id": asset.pk, "interval": interval, "source": source}
        )
        inserted, updated, distinct = cursor.fetchone()
        if inserted or updated:
            # Same transaction: rollups never disagree with the candles they summarise.
            if interval == Interval.M1:
                refresh_rollups(
                    asset_id=asset.pk,
                    start=result.first_open_time,
                    end=result.last_open_time,
                )
            # Cached responses for this asset go stale once the new rows are visible.
            transaction.on_commit(
                lambda: caching.bump_versions([asset.symbol], listing=False)
            )
    result.inserted, result.updated = inserted, updated
    result.duplicate = len(valid) - distinct
    result.unchanged = distinct - inserted - updated
    return result
