"""Replay (the offline default): the project's real recorded candles played as if live.

Each demo series (data/demo, the finest interval per symbol) loops forever: the latest
price advances one recorded candle every REPLAY_STEP_SECONDS (its close, stamped with the
start of the step), and candle history for a recorded interval maps each live open time
onto the recorded sequence. Every value is a real recorded one; only the clock is shifted,
and everything is labelled source "replay" so nobody mistakes it for a live price.
"""

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from django.conf import settings

from assets.models import Asset
from assets.records import ListingIn
from prices.candle_files import read_candles
from prices.ingest.providers.base import Fetched, NotSupported, Provider
from prices.intervals import DURATIONS, floor_time, next_open
from prices.records import CandleIn, PriceIn


@dataclass(frozen=True)
class Series:
    symbol: str
    name: str
    interval: str
    candles: tuple[CandleIn, ...]


def demo_dir() -> Path:
    return Path(settings.BASE_DIR) / "data" / "demo"


@cache
def load_series() -> dict[tuple[str, str], Series]:
    """Every demo file by (symbol, interval), sorted by time with repeats dropped."""
    series: dict[tuple[str, str], Series] = {}
    with open(demo_dir() / "manifest.csv", newline="") as handle:
        for entry in csv.DictReader(handle):
            by_time = {
                c.open_time: c
                for c in read_candles(demo_dir() / entry["file"])
                if isinstance(c, CandleIn)
            }
            key = (entry["symbol"], entry["interval"])
            if key not in series:  # the first file listed for a pair wins
                candles = tuple(by_time[t] for t in sorted(by_time))
                series[key] = Series(entry["symbol"], entry["name"], key[1], candles)
    return series


def finest_series() -> list[Series]:
    finest: dict[str, Series] = {}
    order = [*DURATIONS, "1M"]
    for (symbol, interval), s in load_series().items():
        if symbol not in finest or order.index(interval) < order.index(
            finest[symbol].interval
        ):
            finest[symbol] = s
    return [finest[s] for s in sorted(finest)]


class Replay(Provider):
    name = "replay"

    def __init__(self, *, now: datetime | None = None) -> None:
        self._now = now

    @property
    def intervals(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(interval for _, interval in load_series())

    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    def _price(self, series: Series) -> PriceIn:
        step = settings.REPLAY_STEP_SECONDS
        tick = int(self.now().timestamp() // step)
        candle = series.candles[tick % len(series.candles)]
        as_of = datetime.fromtimestamp(tick * step, tz=UTC)
        return PriceIn(symbol=series.symbol, price=candle.close, as_of=as_of)

    def listings(self, *, limit: int) -> Fetched[ListingIn]:
        fetched: Fetched[ListingIn] = Fetched()
        for series in finest_series()[:limit]:
            price = self._price(series)
            fetched.records.append(
                ListingIn(
                    symbol=series.symbol,
                    name=series.name,
                    price=price.price,
                    as_of=price.as_of,
                )
            )
        return fetched

    def latest_prices(self, *, assets: list[Asset]) -> Fetched[PriceIn]:
        wanted = {a.symbol for a in assets}
        fetched: Fetched[PriceIn] = Fetched()
        fetched.records = [
            self._price(s) for s in finest_series() if s.symbol in wanted
        ]
        return fetched

    def candles(
        self, *, asset: Asset, interval: str, start: datetime, end: datetime
    ) -> Fetched[CandleIn]:
        series = load_series().get((asset.symbol, interval))
        if series is None or interval not in DURATIONS:
            raise NotSupported(f"replay: no {interval} recording for {asset.symbol}")
        step = DURATIONS[interval]
        fetched: Fetched[CandleIn] = Fetched()
        # Only candles that have opened by now: replay never runs ahead of the clock.
        open_time = floor_time(start, interval)
        if open_time < start:
            open_time = next_open(open_time, interval)
        last = min(end, self.now())
        n = len(series.candles)
        while open_time < end and open_time <= last:
            recorded = series.candles[
                int(open_time.timestamp() // step.total_seconds()) % n
            ]
            fetched.records.append(
                CandleIn(
                    open_time,
                    recorded.open,
                    recorded.high,
                    recorded.low,
                    recorded.close,
                    recorded.volume,
                )
            )
            open_time += step
        return fetched
