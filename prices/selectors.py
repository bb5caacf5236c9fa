"""Reads of price history: which stored candles answer a request, and one page of them."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from psycopg import postgres
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format

from marketpulse.errors import InvalidInput
from prices.intervals import DURATIONS, Interval, interval_origin
from prices.models import Candle, SyncJob, SyncRun
from prices.rollups import ORDERED, ROLLUP_INTERVALS, aggregate_sql, divides

CANDLE_TABLE = "prices_candle"
ROLLUP_TABLE = "prices_candlerollup"
# The longest bucket of each interval, to bound how many finer rows one bucket holds.
_LONGEST = {**DURATIONS, "1M": timedelta(days=31)}

Row = tuple[datetime, float, float, float, float, float]
EpochRow = tuple[int, float, float, float, float, float]
# Epoch seconds: psycopg turns 1000 timestamptz values into datetimes in ~3 ms, Python
# does it from integers in ~0.3 ms.
EPOCH = "extract(epoch FROM open_time)::bigint"


@dataclass(frozen=True, slots=True)
class CandleSource:
    """Where the candles of one interval come from for one asset."""

    table: str
    interval: str  # the interval of the rows read
    aggregate: bool  # whether those rows are bucketed into the requested interval
    # The natively stored interval the answer is built from (== requested when stored).
    stored_interval: str


@dataclass(frozen=True, slots=True)
class Ohlcv:
    """Candles as numpy columns: epoch-second open times (int64), then float64 prices
    and volume."""

    open_time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@dataclass(frozen=True, slots=True)
class CandlePage(Ohlcv):
    """A history page's candles, in the order asked for."""

    has_more: bool
    source: CandleSource | None


@dataclass(frozen=True, slots=True)
class CandleSeries:
    """An asset known by its symbol, and where its candles of one interval come from."""

    asset_id: int
    source: CandleSource | None


def _probes(asset: str) -> str:
    """One scalar subquery per interval, ordered like the unique index, on purpose:
    written as one semi-join over the intervals, or as EXISTS (which drops ORDER
    BY/LIMIT and lets the planner hope a sequential scan finds a row early), PostgreSQL
    read every candle of the asset: 150-300 ms at 1M rows."""
    return ", ".join(
        f"(SELECT open_time FROM prices_candle WHERE asset_id = {asset}"
        f" AND interval = '{interval}' ORDER BY open_time LIMIT 1) IS NOT NULL"
        for interval in ORDERED
    )


_SERIES = f"SELECT a.id, {_probes('a.id')} FROM assets_asset AS a WHERE a.symbol = %s"


def stored_intervals(*, asset_id: int) -> list[str]:
    """The intervals this asset has candles of, finest first: one index probe each."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_probes('%s')}", [asset_id] * len(ORDERED))
        found = cursor.fetchone()
    return [interval for interval, has in zip(ORDERED, found, strict=True) if has]


def _source(stored: list[str], interval: str) -> CandleSource | None:
    if interval in stored:
        return CandleSource(CANDLE_TABLE, interval, False, interval)
    bases = [s for s in stored if divides(s, interval)]
    if not bases:
        return None
    base = bases[-1]
    if base != Interval.M1:
        return CandleSource(CANDLE_TABLE, base, True, base)
    # From 1m: read the stored rollups when one fits, the raw minutes otherwise.
    if interval in ROLLUP_INTERVALS:
        return CandleSource(ROLLUP_TABLE, interval, False, base)
    rollups = [r for r in ROLLUP_INTERVALS if divides(r, interval)]
    if rollups:
        return CandleSource(ROLLUP_TABLE, rollups[-1], True, base)
    return CandleSource(CANDLE_TABLE, base, True, base)


def candle_source(*, asset_id: int, interval: str) -> CandleSource | None:
    """Stored candles of `interval` win; otherwise buckets from the coarsest stored
    interval that divides it (so 1d comes from stored 1h before 1m, and a 5m request on
    an asset with 1m and 1h gets 1m). None when nothing stored can answer exactly."""
    return _source(stored_intervals(asset_id=asset_id), interval)


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """An asset known by its symbol, and the intervals it has candles of."""

    asset_id: int
    stored: tuple[str, ...]

    def series(self, interval: str) -> CandleSeries:
        return CandleSeries(self.asset_id, _source(list(self.stored), interval))


def stored_series(*, symbol: str) -> StoredSeries | None:
    """The asset with this symbol and its stored intervals, found in one statement (one
    round trip where a lookup of the asset and then of its intervals took two, on
    every history request); None for an unknown symbol."""
    with _binary_cursor() as cursor:
        cursor.execute(_SERIES, [symbol], prepare=True)
        found = cursor.fetchone()
    if found is None:
        return None
    stored = tuple(i for i, has in zip(ORDERED, found[1:], strict=True) if has)
    return StoredSeries(asset_id=found[0], stored=stored)


def candle_series(*, symbol: str, interval: str) -> CandleSeries | None:
    """`candle_source` for the asset with this symbol; None for an unknown symbol."""
    found = stored_series(symbol=symbol)
    return found.series(interval) if found else None


def _binary_cursor() -> psycopg.Cursor:
    """A server-side-binding psycopg cursor on Django's connection, for binary results
    (Django's client-side cursors cannot return them) and prepared statements: 1,000
    candles fetched in ~0.6 ms of CPU instead of ~0.9 ms as text, on the bench machine."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _check_aggregation_bound(
    source: CandleSource, interval: str, per_bucket: int, cap: int
) -> None:
    """One request aggregates at most `HISTORY_MAX_AGGREGATED_ROWS` stored rows (a year
    of minutes into days is 525,600 rows and ~0.5 s): past it, a 400 naming `limit`
    with the largest limit that fits."""
    bound = settings.HISTORY_MAX_AGGREGATED_ROWS
    if cap <= bound:
        return
    fits = max(bound // per_bucket - 2, 0)
    raise InvalidInput(
        field="limit",
        message=f"{interval} candles are built here from stored {source.interval} rows "
        f"(up to {per_bucket} each); at most {fits} per request (a request aggregates "
        f"at most {bound} rows). Ask for fewer, or a finer interval.",
    )


def candle_page(
    *,
    asset_id: int,
    source: CandleSource | None,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    descending: bool,
) -> CandlePage:
    """Up to `limit` candles of `interval` opening in [start, end), in time order, and
    whether more follow. Derived buckets are built only from candles that exist."""
    if source is None:
        return _page(_columns([]), limit, None)
    direction = "DESC" if descending else "ASC"
    where = "asset_id = %(asset_id)s AND interval = %(interval)s"
    # Aggregated buckets are whole when their first base row is at or after an aligned
    # `start` (the view aligns both bounds to `interval`).
    if start is not None:
        where += " AND open_time >= %(start)s"
    if end is not None:
        where += " AND open_time < %(end)s"
    params: dict[str, Any] = {
        "asset_id": asset_id,
        "interval": source.interval,
        "start": start,
        "end": end,
    }
    if not source.aggregate:
        arrays = _candle_arrays(
            f"SELECT open_time, open, high, low, close, volume FROM {source.table}"
            f" WHERE {where} ORDER BY open_time {direction} LIMIT %(limit)s",
            {**params, "limit": limit + 1},
            descending=descending,
        )
        return _page(arrays, limit, source)
    # Read at most enough base rows for limit + 2 buckets: the last bucket read may be
    # cut short by the cap, so it is dropped, leaving >= limit + 1 whole.
    per_bucket = math.ceil(_LONGEST[interval] / DURATIONS[source.interval])
    cap = (limit + 2) * per_bucket
    _check_aggregation_bound(source, interval, per_bucket, cap)
    columns = "open_time, open, high, low, close, volume"
    if source.table == ROLLUP_TABLE:
        columns += ", candles"
    with _binary_cursor() as cursor:
        cursor.execute(
            f"""
            WITH base AS (
                SELECT {columns} FROM {source.table} WHERE {where}
                ORDER BY open_time {direction} LIMIT %(cap)s
            )
            SELECT {EPOCH.replace("open_time", "bucket")},
                   open, high, low, close, volume, base_rows
            FROM (
                SELECT {aggregate_sql(interval=interval, counted=source.table == ROLLUP_TABLE)},
                       count(*) AS base_rows
                FROM base GROUP BY 1
            ) AS buckets
            ORDER BY bucket {direction}
            """,
            {**params, "cap": cap},
            binary=True,
        )
        buckets = cursor.fetchall()
    if sum(b[-1] for b in buckets) >= cap:
        buckets = buckets[:-1]
    return _page(_columns([b[:6] for b in buckets]), limit, source)


def _page(
    arrays: list[np.ndarray], limit: int, source: CandleSource | None
) -> CandlePage:
    """The first `limit` candles; more follow when the read found more."""
    open_time, o, h, low, c, v = (a[:limit] for a in arrays)
    return CandlePage(open_time, o, h, low, c, v, arrays[0].size > limit, source)


_CLOSES = """
SELECT DISTINCT ON (bucket)
       date_bin(%(step)s, open_time, %(origin)s) AS bucket, close
FROM prices_candle
WHERE asset_id = %(asset)s AND interval = %(interval)s
  AND open_time >= %(start)s AND open_time < %(end)s
ORDER BY bucket, open_time DESC
"""


@dataclass(frozen=True, slots=True)
class Closes:
    """Closing prices of the buckets of one interval, read from stored candles."""

    interval: str | None  # the stored interval read (None: no candles in range)
    closes: dict[datetime, float]  # bucket open time -> the bucket's close
    before: float | None  # the last close before the range


def _close_interval(
    asset_id: int, interval: str, start: datetime, end: datetime
) -> str | None:
    """The coarsest stored interval no longer than `interval` with candles in range: the
    last of its candles in a bucket closes with the bucket (all intervals nest)."""
    stored = set(
        Candle.objects.filter(
            asset_id=asset_id, open_time__gte=start, open_time__lt=end
        )
        .values_list("interval", flat=True)
        .distinct()
    )
    fitting = [
        i for i in stored if i in DURATIONS and DURATIONS[i] <= DURATIONS[interval]
    ]
    return max(fitting, key=lambda i: DURATIONS[i]) if fitting else None


def closes_for(
    *, asset_id: int, interval: str, start: datetime, end: datetime
) -> Closes:
    """The close of each fixed-length `interval` bucket opening in [start, end) (the
    last stored candle in it), and the last close before `start`. Buckets without a
    candle are absent, never filled."""
    source = _close_interval(asset_id, interval, start, end)
    if source is None:
        return Closes(interval=None, closes={}, before=None)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLOSES,
            {
                "step": DURATIONS[interval],  # type: ignore[dict-item]  # psycopg adapts timedelta
                "origin": interval_origin(interval),
                "asset": asset_id,
                "interval": source,
                "start": start,
                "end": end,
            },
        )
        closes = dict(cursor.fetchall())
    before = (
        Candle.objects.filter(asset_id=asset_id, interval=source, open_time__lt=start)
        .order_by("-open_time")
        .values_list("close", flat=True)
        .first()
    )
    return Closes(interval=source, closes=closes, before=before)


@dataclass(frozen=True, slots=True)
class CandleColumns(Ohlcv):
    """Candles oldest first; the first `before` rows open before the range asked for."""

    before: int
    source: CandleSource | None


_FLOAT8_ARRAY = postgres.types["float8"].array_oid
_TIMESTAMPTZ_ARRAY = postgres.types["timestamptz"].array_oid
# PostgreSQL's binary 1-D array without nulls: a 20-byte header (ndim, has-null flag,
# element type, length, lower bound), then each element's byte length and its bytes.
_ARRAY_HEADER = 20
_ELEMENTS = np.dtype([("length", ">i4"), ("value", ">i8")])
_FLOAT_ELEMENTS = np.dtype([("length", ">i4"), ("value", ">f8")])
_POSTGRES_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: timestamps count from it


class _ArrayBytes(Loader):
    """A binary array result as its bytes, for numpy to read whole: psycopg's own loaders
    make a Python object per element (5,800 candles x 6 columns: ~7 ms)."""

    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def _column(data: bytes | None, elements: np.dtype) -> np.ndarray:
    if data is None:  # array_agg over no rows
        return np.empty(0, elements["value"].newbyteorder("="))
    values = np.frombuffer(data, elements, offset=_ARRAY_HEADER)["value"]
    return values.astype(values.dtype.newbyteorder("="))


def _columns(rows: list[EpochRow]) -> list[np.ndarray]:
    if not rows:
        return [np.empty(0, np.int64)] + [np.empty(0)] * 5
    open_time, *values = zip(*rows, strict=True)
    floats = [np.asarray(v, dtype=np.float64) for v in values]
    return [np.asarray(open_time, dtype=np.int64), *floats]


def _candle_columns(
    arrays: list[np.ndarray], before: int, source: CandleSource | None
) -> CandleColumns:
    open_time, o, h, low, c, v = arrays
    return CandleColumns(open_time, o, h, low, c, v, before, source)


def _candle_arrays(
    rows_sql: str, params: dict[str, Any], *, descending: bool = False
) -> list[np.ndarray]:
    """The candles `rows_sql` selects (open_time, open, high, low, close, volume, in
    time order) as numpy columns, epoch-second open times first: PostgreSQL sends one
    binary array per column and numpy reads each whole (5,800 candles in ~8 ms where a
    tuple per row took ~20 ms, bench machine)."""
    with _binary_cursor() as cursor:
        cursor.adapters.register_loader(_FLOAT8_ARRAY, _ArrayBytes)
        cursor.adapters.register_loader(_TIMESTAMPTZ_ARRAY, _ArrayBytes)
        cursor.execute(
            "SELECT array_agg(open_time), array_agg(open), array_agg(high),"
            " array_agg(low), array_agg(close), array_agg(volume)"
            f" FROM ({rows_sql}) AS candles",
            params,
            binary=True,
        )
        found = cursor.fetchone()
    assert found is not None  # an aggregate answers one row
    micros = _column(found[0], _ELEMENTS)
    floats = [_column(data, _FLOAT_ELEMENTS) for data in found[1:]]
    arrays = [micros // 1_000_000 + _POSTGRES_EPOCH, *floats]
    # array_agg keeps its input's order in practice, not by promise: make sure.
    steps = np.diff(arrays[0])
    if np.any(steps >= 0 if descending else steps <= 0):
        order = np.argsort(arrays[0], kind="stable")
        arrays = [a[order[::-1] if descending else order] for a in arrays]
    return arrays


def candle_columns(
    *,
    asset_id: int,
    interval: str,
    start: datetime,
    end: datetime,
    before: int = 0,
) -> CandleColumns:
    """Every candle of `interval` opening in [start, end) (both aligned to `interval`),
    preceded by up to `before` candles opening before `start`: the exact candles
    `candle_page` serves, gaps left as gaps, in one round trip. The caller bounds the
    range (no row limit here)."""
    series = CandleSeries(asset_id, candle_source(asset_id=asset_id, interval=interval))
    return series_columns(
        series, interval=interval, start=start, end=end, before=before
    )


def series_columns(
    series: CandleSeries,
    *,
    interval: str,
    start: datetime,
    end: datetime,
    before: int = 0,
) -> CandleColumns:
    """`candle_columns` for a series already found (`candle_series`)."""
    asset_id, source = series.asset_id, series.source
    if source is None:
        return _candle_columns(_columns([]), 0, None)
    params = {
        "asset_id": asset_id,
        "interval": source.interval,
        "start": start,
        "end": end,
        "before": before,
    }
    where = "asset_id = %(asset_id)s AND interval = %(interval)s"
    columns = "open, high, low, close, volume"
    if not source.aggregate:
        arrays = _candle_arrays(
            f"""
            SELECT open_time, {columns} FROM {source.table}
            WHERE {where} AND open_time < %(end)s AND open_time >= coalesce(
                (SELECT min(open_time) FROM (
                    SELECT open_time FROM {source.table}
                    WHERE {where} AND open_time < %(start)s
                    ORDER BY open_time DESC LIMIT %(before)s
                ) AS warmup),
                %(start)s
            )
            ORDER BY open_time
            """,
            params,
        )
    else:
        # Warm-up buckets: enough base rows for `before` + 1 buckets; when the cap is
        # reached the earliest bucket may be cut short, so it is dropped.
        per_bucket = math.ceil(_LONGEST[interval] / DURATIONS[source.interval])
        in_range = math.ceil((end - start) / DURATIONS[source.interval])
        _check_aggregation_bound(
            source, interval, per_bucket, (before + 1) * per_bucket + in_range
        )
        base_columns = f"open_time, {columns}"
        if source.table == ROLLUP_TABLE:
            base_columns += ", candles"
        aggregate = aggregate_sql(
            interval=interval, counted=source.table == ROLLUP_TABLE
        )
        with _binary_cursor() as cursor:
            cursor.execute(
                f"""
                WITH warmup AS (
                    SELECT {base_columns} FROM {source.table}
                    WHERE {where} AND open_time < %(start)s
                    ORDER BY open_time DESC LIMIT %(cap)s
                ), wanted AS (
                    SELECT {base_columns} FROM {source.table}
                    WHERE {where} AND open_time >= %(start)s AND open_time < %(end)s
                )
                SELECT {EPOCH.replace("open_time", "bucket")}, {columns}, base_rows,
                       bucket < %(start)s
                FROM (
                    SELECT {aggregate}, count(*) AS base_rows FROM warmup GROUP BY 1
                    UNION ALL
                    SELECT {aggregate}, count(*) AS base_rows FROM wanted GROUP BY 1
                ) AS buckets
                ORDER BY bucket
                """,
                {**params, "cap": (before + 1) * per_bucket},
                binary=True,
            )
            buckets = cursor.fetchall()
        early = [b for b in buckets if b[-1]]
        if sum(b[-2] for b in early) >= (before + 1) * per_bucket:
            early = early[1:]
        early = early[-before:] if before else []
        rows = [b[:6] for b in early] + [b[:6] for b in buckets if not b[-1]]
        arrays = _columns(rows)
    start_epoch = int(start.timestamp())
    first_wanted = int(np.searchsorted(arrays[0], start_epoch))
    return _candle_columns(arrays, first_wanted, source)


def latest_listing_figures() -> dict[str, Any] | None:
    """Where the stored listing figures (cap, volume, change, supply, rank) came from:
    the provider, its newest `as_of` and per-figure sources, from the newest successful
    listings sync (None before the first)."""
    run = (
        SyncRun.objects.filter(
            job=SyncJob.PRICES,
            status=SyncRun.Status.SUCCEEDED,
            details__has_key="listing_figures",
        )
        .order_by("-finished_at", "-id")
        .values("id", "finished_at", "details")
        .first()
    )
    if run is None:
        return None
    return {
        **run["details"]["listing_figures"],
        "sync_run": run["id"],
        "synced_at": run["finished_at"],
    }


@dataclass(frozen=True, slots=True)
class Reference:
    """A past close: the price a move is measured against."""

    at: datetime  # the candle's close time
    price: float
    interval: str


def close_before(
    *, asset_id: int, moment: datetime, within: timedelta
) -> Reference | None:
    """The close of the latest stored candle that closed at or before `moment`, read
    from the finest stored interval no longer than `within` that has one closing in
    its own last bucket before `moment` (so the reference is at most one candle old);
    None when no interval does (a gap, or no history)."""
    for interval in ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"):
        step = DURATIONS[interval]
        if step > within:
            break
        row = (
            Candle.objects.filter(
                asset_id=asset_id,
                interval=interval,
                open_time__lte=moment - step,
                open_time__gt=moment - 2 * step,
            )
            .order_by("-open_time")
            .values_list("open_time", "close")
            .first()
        )
        if row is not None:
            return Reference(at=row[0] + step, price=row[1], interval=interval)
    return None


def last_candle_end(*, asset_id: int) -> datetime | None:
    """When the newest stored candle of the asset (any interval) closes: one index
    lookup per interval."""
    ends = []
    for interval, step in DURATIONS.items():
        newest = (
            Candle.objects.filter(asset_id=asset_id, interval=interval)
            .order_by("-open_time")
            .values_list("open_time", flat=True)
            .first()
        )
        if newest is not None:
            ends.append(newest + step)
    return max(ends, default=None)
