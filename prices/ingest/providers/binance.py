"""Binance: klines for history (every interval we store) and the 24h ticker for prices.

USDT-quoted pairs count as USD (DESIGN.md). Documented limit: 6,000 request weight a
minute per IP; klines weigh 2, a multi-symbol 24h ticker up to 80.
"""

from datetime import datetime
from typing import Any

import orjson
from django.conf import settings

from assets.models import Asset
from prices.ingest.providers.base import (
    Fetched,
    NotSupported,
    PriceIn,
    Provider,
    ProviderDataError,
    from_millis,
    number,
    positive_price,
    reason_for,
    sane_as_of,
)
from prices.ingest.providers.http import HttpClient
from prices.intervals import Interval
from prices.records import CandleIn

BASE_URL = "https://api.binance.com"


def pair_for(asset: Asset) -> str:
    return asset.binance_symbol or f"{asset.symbol}USDT"


def parse_kline(entry: Any) -> CandleIn:
    # [open time, open, high, low, close, volume, close time, ...]; prices are strings.
    return CandleIn(
        open_time=from_millis(entry[0]),
        open=number(entry[1]),
        high=number(entry[2]),
        low=number(entry[3]),
        close=number(entry[4]),
        volume=number(entry[5]),
    )


class Binance(Provider):
    name = "binance"
    intervals = frozenset(Interval.values)
    max_candles_per_call = 1000

    def __init__(self, *, base_url: str | None = None) -> None:
        self.http = HttpClient(
            provider=self.name,
            base_url=base_url or settings.BINANCE_BASE_URL or BASE_URL,
            rate_per_minute=settings.BINANCE_RATE_PER_MINUTE,
        )

    def candles(
        self, *, asset: Asset, interval: str, start: datetime, end: datetime
    ) -> Fetched[CandleIn]:
        if interval not in self.intervals:
            raise NotSupported(f"binance: no {interval} klines")
        payload = self.http.get_json(
            "/api/v3/klines",
            {
                "symbol": pair_for(asset),
                "interval": interval,
                "startTime": int(start.timestamp() * 1000),
                "endTime": int(end.timestamp() * 1000) - 1,
                "limit": self.max_candles_per_call,
            },
        )
        if not isinstance(payload, list):
            raise ProviderDataError("binance /klines: expected a list")
        fetched: Fetched[CandleIn] = Fetched()
        for entry in payload:
            try:
                candle = parse_kline(entry)
            except (IndexError, TypeError, ValueError) as exc:
                fetched.reject(reason_for(exc))
                continue
            if start <= candle.open_time < end:
                fetched.records.append(candle)
        return fetched

    def latest_prices(self, *, assets: list[Asset]) -> Fetched[PriceIn]:
        by_pair = {pair_for(a): a for a in assets}
        if not by_pair:
            return Fetched()
        payload = self.http.get_json(
            "/api/v3/ticker/24hr",
            {"symbols": orjson.dumps(sorted(by_pair)).decode()},
        )
        # One symbol may come back as a bare object.
        entries = [payload] if isinstance(payload, dict) else payload
        if not isinstance(entries, list):
            raise ProviderDataError("binance /ticker/24hr: expected a list")
        fetched: Fetched[PriceIn] = Fetched()
        for entry in entries:
            try:
                asset = by_pair.get(entry["symbol"])
                if asset is None:
                    fetched.reject("unknown_asset")
                    continue
                fetched.records.append(
                    PriceIn(
                        symbol=asset.symbol,
                        price=positive_price(entry["lastPrice"]),
                        as_of=sane_as_of(from_millis(entry["closeTime"])),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                fetched.reject(reason_for(exc))
        return fetched
