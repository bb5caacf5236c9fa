"""Exact resampling in SQL, and stored rollups ("continuous aggregates" on plain PostgreSQL).

A bucket is built only from candles that exist: open = first, high = max, low = min,
close = last, volume = sum. Re-aggregating aggregates is exact (first of firsts, max of
maxes, ...), so 1d rollups are built from 1h rollups, and a week from 1d rollups.

Rollups are built from stored 1m candles only (the interval that is expensive to aggregate
over long ranges) into `CandleRollup`, a table of their own, so they never clash with
natively stored candles of the same interval.
"""

from datetime import datetime, timedelta

from django.db import connection

from prices.intervals import (
    DURATIONS,
    Interval,
    floor_time,
    interval_origin,
    next_open,
)

# Stored rollup levels, each built from the one before it (the first from raw 1m).
ROLLUP_INTERVALS: tuple[str, ...] = ("1h", "1d")

# Finest first.
ORDERED: tuple[str, ...] = tuple(Interval.values)


def bucket_sql(interval: str, column: str = "open_time") -> str:
    """SQL for the open time of the `interval` bucket holding `column` (aligned like
    `floor_time`: epoch for fixed lengths, Mondays for weeks, calendar months)."""
    if interval == Interval.MO1:
        return f"(date_trunc('month', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    origin = interval_origin(interval)
    seconds = int(DURATIONS[interval].total_seconds())
    return (
        f"date_bin(interval '{seconds} seconds', {column}, "
        f"timestamptz '{origin.isoformat()}')"
    )


def divides(finer: str, coarser: str) -> bool:
    """Whether every `coarser` bucket is exactly a run of whole `finer` buckets."""
    if ORDERED.index(finer) >= ORDERED.index(coarser):
        return False
    if coarser == Interval.MO1:
        # Months start at midnight; weeks do not fit in them.
        return finer != Interval.W1
    # Fixed lengths: Monday 00:00 and the epoch are aligned to every length up to a day.
    return DURATIONS[coarser] % DURATIONS[finer] == timedelta(0)


def ceil_time(moment: datetime, interval: str) -> datetime:
    """The first `interval` open time at or after `moment`."""
    floor = floor_time(moment, interval)
    return floor if floor == moment else next_open(floor, interval)


def aggregate_sql(*, interval: str, counted: bool) -> str:
    """SELECT list aggregating rows of `base` into `interval` buckets.

    `counted`: the base rows are rollups that carry their own candle count.
    """
    count = "sum(candles)" if counted else "count(*)"
    return f"""
        {bucket_sql(interval)} AS bucket,
        (array_agg(open ORDER BY open_time))[1] AS open,
        max(high) AS high, min(low) AS low,
        (array_agg(close ORDER BY open_time DESC))[1] AS close,
        sum(volume) AS volume, {count} AS candles
    """


_REFRESH = """
INSERT INTO prices_candlerollup
    (asset_id, interval, open_time, open, high, low, close, volume, candles)
SELECT %(asset_id)s, %(interval)s, bucket, open, high, low, close, volume, candles
FROM (
    SELECT {select}
    FROM {table}
    WHERE asset_id = %(asset_id)s AND interval = %(base)s
      AND open_time >= %(start)s AND open_time < %(end)s
    GROUP BY 1
) AS buckets
ON CONFLICT (asset_id, interval, open_time) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
    close = EXCLUDED.close, volume = EXCLUDED.volume, candles = EXCLUDED.candles
WHERE (prices_candlerollup.open, prices_candlerollup.high, prices_candlerollup.low,
       prices_candlerollup.close, prices_candlerollup.volume, prices_candlerollup.candles)
   IS DISTINCT FROM
      (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low,
       EXCLUDED.close, EXCLUDED.volume, EXCLUDED.candles)
"""


def refresh_rollups(*, asset_id: int, start: datetime, end: datetime) -> None:
    """Rebuilds every rollup bucket touching 1m candles in [start, end] from the stored
    candles; idempotent. Caveat: with CANDLE_RETENTION_DAYS set (off by default), a
    bucket refreshed after the daily cleanup deleted its 1m candles is rebuilt from the
    ones that remain. Call it inside the writing transaction (upsert_candles does): the
    lock it takes lasts until that transaction ends."""
    base, table = Interval.M1.value, "prices_candle"
    with connection.cursor() as cursor:
        # One refresher per asset at a time, until its transaction ends: a second
        # writer of the same hour then rebuilds it from a snapshot that holds the first
        # writer's committed candles. (Without it, each rebuilt the bucket from the rows
        # its own transaction saw, and the later write dropped the other's candles.)
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"rollups:{asset_id}"],
        )
        for interval in ROLLUP_INTERVALS:
            start = floor_time(start, interval)
            end = next_open(floor_time(end, interval), interval)
            cursor.execute(
                _REFRESH.format(
                    select=aggregate_sql(interval=interval, counted=base != "1m"),
                    table=table,
                ),
                {
                    "asset_id": asset_id,
                    "interval": interval,
                    "base": base,
                    "start": start,
                    "end": end,
                },
            )
            base, table = interval, "prices_candlerollup"
