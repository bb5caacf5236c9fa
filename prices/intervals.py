"""Candle intervals: names as Binance spells them, and how an open time aligns to each."""

import re
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import models

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Times outside [EARLIEST, LATEST) are typos, and would overflow date arithmetic near 9999.
EARLIEST = EPOCH
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


# A time as the API takes it (the OpenAPI `pattern` of its time parameters): RFC 3339 with
# a zone, years 1970-2999. `parse_time` reads more (bare dates, for command lines).
def time_pattern(years: str = "19[7-9][0-9]|2[0-9]{3}") -> str:
    """RFC 3339 with a zone, for the `years` given (a regex alternation)."""
    return (
        rf"^({years})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
        r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
        r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
    )


TIME_PATTERN = time_pattern()
TIME_RE = re.compile(TIME_PATTERN)
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


def interval_origin(interval: str) -> datetime:
    """Where the candles of a fixed-length interval are counted from: the epoch, or for
    weeks the first Monday after it. (Months follow the calendar instead.)"""
    return WEEK_ORIGIN if interval == Interval.W1 else EPOCH


def floor_time(moment: datetime, interval: str) -> datetime:
    """The open time of the `interval` candle that contains `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    if interval == Interval.MO1:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    step = DURATIONS[interval]
    return moment - (moment - interval_origin(interval)) % step


def is_aligned(moment: datetime, interval: str) -> bool:
    return floor_time(moment, interval) == moment


def next_open(open_time: datetime, interval: str) -> datetime:
    """The open time of the candle after the one opening at `open_time`."""
    if interval == Interval.MO1:
        year, month = divmod(open_time.month, 12)
        return open_time.replace(year=open_time.year + year, month=month + 1)
    return open_time + DURATIONS[interval]


def close_times(open_time: np.ndarray, interval: str) -> np.ndarray:
    """`next_open` of each aligned open time (epoch seconds, int64)."""
    if interval == Interval.MO1:
        months = open_time.astype("datetime64[s]").astype(
            "datetime64[M]"
        ) + np.timedelta64(1, "M")
        return months.astype("datetime64[s]").astype(np.int64)
    return open_time + int(DURATIONS[interval].total_seconds())


def gaps_between(
    open_time: np.ndarray, close_time: np.ndarray
) -> list[tuple[int, int]]:
    """(close, next open) in epoch seconds wherever a candle does not close where the
    next one opens: the missing stretches of candles in time order."""
    where = np.flatnonzero(close_time[:-1] != open_time[1:])
    return list(
        zip(close_time[where].tolist(), open_time[where + 1].tolist(), strict=True)
    )


class TimeError(ValueError):
    """A time that cannot be used; `reason` is `invalid`, `naive` or `range`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_time(text: str, *, assume_utc: bool = False) -> datetime:
    """The one reading of a time given by a person or a client: ISO 8601 with a zone
    (`Z` or an offset), returned in UTC; a bare date is its midnight UTC, and so is a
    time without a zone when `assume_utc` (command lines). Between 1970 and 3000."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimeError(
            "invalid",
            f"Not an ISO 8601 time: {text[:64]!r} (example: 2024-03-01T00:00:00Z).",
        ) from None
    if len(text) == 10 or (assume_utc and moment.tzinfo is None):  # a date alone
        moment = moment.replace(tzinfo=UTC)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TimeError("naive", f"Give a zone (Z or +hh:mm): {text[:64]!r}.")
    out_of_range = TimeError("range", "Must be between 1970-01-01 and 3000-01-01.")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # an offset past year 1 or 9999
        raise out_of_range from None
    if not EARLIEST <= moment < LATEST:
        raise out_of_range
    return moment
