"""A price series on a regular time grid: what every model family reads.

Missing candles stay NaN (never filled): a target that has no candle is not scored, and
a family that cannot forecast through a hole says so with NaN.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Series:
    interval: str
    step_seconds: int
    close_times: np.ndarray  # int64 epoch seconds of each slot's close, regular
    close: np.ndarray  # float64, NaN where no candle
    high: np.ndarray
    low: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.close_times)

    def until(self, end: int) -> "Series":
        """The first `end` slots only: what a forecast made at the close of slot
        `end - 1` may see. Views, not copies; later slots are out of reach."""
        return Series(
            self.interval,
            self.step_seconds,
            self.close_times[:end],
            self.close[:end],
            self.high[:end],
            self.low[:end],
            self.volume[:end],
        )


def on_grid(
    *,
    interval: str,
    step_seconds: int,
    open_times: np.ndarray | Sequence[int],
    close: np.ndarray | Sequence[float],
    high: np.ndarray | Sequence[float],
    low: np.ndarray | Sequence[float],
    volume: np.ndarray | Sequence[float],
) -> Series:
    """Candles (epoch-second open times, oldest first) placed on their regular grid."""
    if not len(open_times):
        empty = np.empty(0)
        return Series(interval, step_seconds, empty.astype(np.int64), *(empty,) * 4)
    opens = np.asarray(open_times, dtype=np.int64)
    slots = (opens - opens[0]) // step_seconds
    size = int(slots[-1]) + 1
    columns = []
    for values in (close, high, low, volume):
        column = np.full(size, np.nan)
        column[slots] = np.asarray(values, dtype=np.float64)
        columns.append(column)
    close_times = opens[0] + step_seconds * (np.arange(size, dtype=np.int64) + 1)
    return Series(interval, step_seconds, close_times, *columns)
