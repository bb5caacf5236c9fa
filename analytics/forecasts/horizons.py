"""The forecast horizons, each counted in candles of one interval.

`24h` is 24 candles of 1h, not one of 1d: its target is then exactly 24 hours after the
last closed candle, whatever the hour a prediction is made (a 1d candle would put it at
the next midnight UTC, anywhere from 1 to 24 hours away), and its inputs are as fresh as
the hourly data. `7d` is 7 daily candles: the daily history is the long one.
"""

from dataclasses import dataclass
from datetime import timedelta

from prices.intervals import DURATIONS


@dataclass(frozen=True, slots=True)
class Horizon:
    name: str
    interval: str  # the candles forecast
    steps: int  # how many of them ahead
    # Seasonal naive's season in candles, when one applies: a season that divides the
    # horizon (7 daily candles on a 7d horizon) makes it the naive forecast itself.
    season: int | None

    @property
    def step(self) -> timedelta:
        return DURATIONS[self.interval]

    @property
    def span(self) -> timedelta:
        return self.step * self.steps


HORIZONS: dict[str, Horizon] = {
    "1h": Horizon("1h", "1h", 1, season=24),  # yesterday's same hour
    "24h": Horizon("24h", "1h", 24, season=168),  # last week's same hour
    "7d": Horizon("7d", "1d", 7, season=None),
}
