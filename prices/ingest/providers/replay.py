"""Replay (the offline default): the project's real recorded candles played as if live.

Each demo series (data/demo, the finest interval per symbol) loops forever: the latest
price advances one recorded candle every REPLAY_STEP_SECONDS (its close, stamped with the
start of the step), and candle history for a recorded interval maps each live open time
onto the recorded sequence. Every value is a real recorded one; only the clock is shifted,
and everything is labelled source "replay" so nobody mistakes it for a live price.
"""

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


@cache
def recorded_supply() -> dict:
    """Circulating supplies from a recorded real payload, with their provenance
    (prices/ingest/providers/data/circulating_supply.json)."""
    path = Path(__file__).resolve().parent / "data" / "circulating_supply.json"
    return json.loads(path.read_text())


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
        """24h volume (quote) and change from the replayed candles, circulating supply
        from a recorded real payload where it holds the asset, cap = price x supply,
        ranked by cap; a figure no real source has stays None."""
        fetched: Fetched[ListingIn] = Fetched()
        supply = recorded_supply()["assets"]
        listed = []
        for series in finest_series()[:limit]:
            price = self._price(series)
            volume, change = self._last_24h(series)
            circulating = supply.get(series.symbol, {}).get("circulating_supply")
            cap = price.price * circulating if circulating else None
            listed.append((series, price, volume, change, circulating, cap))
        by_cap = sorted((x for x in listed if x[5]), key=lambda x: -(x[5] or 0.0))
        ranks = {x[0].symbol: n for n, x in enumerate(by_cap, 1)}
        for series, price, volume, change, circulating, cap in listed:
            fetched.records.append(
                ListingIn(
                    symbol=series.symbol,
                    name=series.name,
                    price=price.price,
                    as_of=price.as_of,
                    rank=ranks.get(series.symbol),
                    market_cap=cap,
                    volume_24h=volume,
                    change_24h=change,
                    circulating_supply=circulating,
                )
            )
        return fetched

    def _last_24h(self, series: Series) -> tuple[float | None, float | None]:
        """Quote volume of the replayed candles opening in (now - 24h, now], and the
        percent change from the close of the one opening 24h before the current one."""
        if series.interval not in DURATIONS or DURATIONS[series.interval] > timedelta(
            days=1
        ):
            return None, None
        step = DURATIONS[series.interval]
        current = floor_time(self.now(), series.interval)
        count = int(timedelta(days=1) / step)
        window = [self._replayed(series, current - n * step) for n in range(count)]
        before = self._replayed(series, current - count * step)
        volume = sum(c.volume * c.close for c in window)
        change = (window[0].close / before.close - 1) * 100 if before.close else None
        return volume, change

    @staticmethod
    def _replayed(series: Series, open_time: datetime) -> CandleIn:
        """The recorded candle replayed at `open_time` (as `candles` maps it)."""
        step = DURATIONS[series.interval].total_seconds()
        return series.candles[int(open_time.timestamp() // step) % len(series.candles)]

    def figure_sources(self) -> dict[str, object]:
        """Where each listing figure comes from, for the market overview."""
        recorded = recorded_supply()
        return {
            "price": "replay: recorded candle closes, clock shifted",
            "volume_24h": "replay: sum of volume x close of the replayed candles of "
            "the last 24h",
            "change_24h": "replay: replayed candle closes 24h apart",
            "market_cap": "price x circulating_supply",
            "circulating_supply": {
                symbol: {"source": recorded["source"], "as_of": entry["as_of"]}
                for symbol, entry in recorded["assets"].items()
            },
            "rank": "replay: by market_cap",
        }

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
