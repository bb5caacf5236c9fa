"""Data quality: which candles are missing, per asset and interval, in a time range."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from assets.models import Asset
from prices.intervals import DURATIONS, Interval, floor_time, next_open
from prices.models import CandleGap

STEPS = {
    "1m": "1 minute", "5m": "5 minutes", "15m": "15 minutes", "30m": "30 minutes",
    "1h": "1 hour", "4h": "4 hours", "1d": "1 day", "1w": "7 days", "1M": "1 month",
}  # fmt: skip

_MISSING = """
SELECT t FROM generate_series(%(start)s::timestamptz, %(last)s::timestamptz,
                              %(step)s::interval) AS t
WHERE NOT EXISTS (
    SELECT 1 FROM prices_candle c
    WHERE c.asset_id = %(asset)s AND c.interval = %(interval)s AND c.open_time = t
)
ORDER BY t
"""


@dataclass(frozen=True)
class Gap:
    start: datetime  # open time of the first missing candle
    end: datetime  # open time of the next candle after the hole
    missing: int


def find_gaps(
    *, asset: Asset, interval: str, start: datetime, end: datetime
) -> list[Gap]:
    """Runs of missing candles opening in [start, end), in order."""
    first = floor_time(start, interval)
    if first < start:
        first = next_open(first, interval)
    if first >= end:
        return []
    last = floor_time(end, interval)
    if last >= end:  # `end` itself is exclusive
        last = _previous_open(last, interval)
    with connection.cursor() as cursor:
        cursor.execute(
            _MISSING,
            {"start": first, "last": last, "step": STEPS[interval],
             "asset": asset.pk, "interval": interval},
        )  # fmt: skip
        missing = [row[0] for row in cursor.fetchall()]
    gaps: list[Gap] = []
    run_start = previous = None
    count = 0
    for moment in missing:
        if previous is not None and next_open(previous, interval) == moment:
            count += 1
        else:
            if run_start is not None and previous is not None:
                gaps.append(Gap(run_start, next_open(previous, interval), count))
            run_start, count = moment, 1
        previous = moment
    if run_start is not None and previous is not None:
        gaps.append(Gap(run_start, next_open(previous, interval), count))
    return gaps


def _previous_open(open_time: datetime, interval: str) -> datetime:
    if interval == Interval.MO1:
        if open_time.month == 1:
            return open_time.replace(year=open_time.year - 1, month=12)
        return open_time.replace(month=open_time.month - 1)
    return open_time - DURATIONS[interval]


def record_gaps(
    *, asset: Asset, interval: str, start: datetime, end: datetime
) -> list[Gap]:
    """Replaces the stored gaps of this asset and interval in [start, end) with the
    ones found now (so filled gaps disappear from the admin)."""
    gaps = find_gaps(asset=asset, interval=interval, start=start, end=end)
    with transaction.atomic():
        CandleGap.objects.filter(
            asset=asset, interval=interval, start__gte=start, start__lt=end
        ).delete()
        CandleGap.objects.bulk_create(
            CandleGap(
                asset=asset,
                interval=interval,
                start=g.start,
                end=g.end,
                missing=g.missing,
            )
            for g in gaps
        )
    return gaps
