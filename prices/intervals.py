"""Candle intervals: names as Binance spells them, and how an open time aligns to each."""

from datetime import UTC, datetime, timedelta

from django.db import models

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Weeks open on Monday (as on Binance); 1970-01-05 was the first Monday after the epoch.
WEEK_ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)


class Interval(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    M30 = "30m", "30 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    D1 = "1d", "1 day"
    W1 = "1w", "1 week"
    MO1 = "1M", "1 month"


# Fixed lengths; 1M is a calendar month and has none.
DURATIONS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}


def floor_time(moment: datetime, interval: str) -> datetime:
    """The open time of the `interval` candle that contains `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    if interval == Interval.MO1:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    origin = WEEK_ORIGIN if interval == Interval.W1 else EPOCH
    step = DURATIONS[interval]
    return moment - (moment - origin) % step


def is_aligned(moment: datetime, interval: str) -> bool:
    return floor_time(moment, interval) == moment


def next_open(open_time: datetime, interval: str) -> datetime:
    """The open time of the candle after the one opening at `open_time`."""
    if interval == Interval.MO1:
        year, month = divmod(open_time.month, 12)
        return open_time.replace(year=open_time.year + year, month=month + 1)
    return open_time + DURATIONS[interval]
