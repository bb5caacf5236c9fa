"""CoinGecko (primary): `/coins/markets` listings and `/coins/{id}/ohlc` history.

Keys: a demo key goes to api.coingecko.com in `x-cg-demo-api-key`, a pro key to
pro-api.coingecko.com in `x-cg-pro-api-key`. Documented limits: ~30 calls/min on the demo
plan (fewer without a key), 500+/min on paid plans; set COINGECKO_RATE_PER_MINUTE.
"""

from datetime import datetime
from typing import Any

from django.conf import settings

from assets.models import Asset
from assets.records import ListingIn
from prices.ingest.providers.base import (
    Fetched,
    NotSupported,
    Provider,
    ProviderDataError,
    from_iso,
    from_millis,
    number,
    optional_number,
    positive_price,
    reason_for,
    sane_as_of,
)
from prices.ingest.providers.http import HttpClient
from prices.intervals import DURATIONS
from prices.records import CandleIn

PAGE_SIZE = 250  # the documented maximum `per_page`
BASE_URLS = {
    "demo": "https://api.coingecko.com/api/v3",
    "pro": "https://pro-api.coingecko.com/api/v3",
}
# `/ohlc?days=N` picks the granularity itself: 30 minutes for 1-2 days, 4 hours up to 30.
OHLC_DAYS = {"30m": (1, 2), "4h": (3, 30)}


def parse_market(entry: Any) -> ListingIn:
    """One `/coins/markets` entry; raises on missing or out-of-range fields."""
    rank = entry.get("market_cap_rank")
    return ListingIn(
        symbol=str(entry["symbol"]).strip().upper(),
        name=str(entry["name"]).strip(),
        price=positive_price(entry["current_price"]),
        as_of=sane_as_of(from_iso(entry["last_updated"])),
        rank=int(rank) if rank else None,
        # 0 market cap (e.g. weth in the recording) means "unknown", not worthless.
        market_cap=optional_number(entry.get("market_cap")) or None,
        volume_24h=optional_number(entry.get("total_volume")),
        change_24h=optional_number(entry.get("price_change_percentage_24h")),
        circulating_supply=optional_number(entry.get("circulating_supply")),
        total_supply=optional_number(entry.get("total_supply")),
        max_supply=optional_number(entry.get("max_supply")),
        coingecko_id=str(entry["id"]),
    )


class CoinGecko(Provider):
    name = "coingecko"
    intervals = frozenset(OHLC_DAYS)

    def __init__(self, *, base_url: str | None = None) -> None:
        plan = settings.COINGECKO_API_PLAN
        key = settings.COINGECKO_API_KEY
        headers = {f"x-cg-{plan}-api-key": key} if key else {}
        self.http = HttpClient(
            provider=self.name,
            base_url=base_url or settings.COINGECKO_BASE_URL or BASE_URLS[plan],
            headers=headers,
            rate_per_minute=settings.COINGECKO_RATE_PER_MINUTE,
        )

    def listings(self, *, limit: int) -> Fetched[ListingIn]:
        fetched: Fetched[ListingIn] = Fetched()
        page = 1
        while len(fetched.records) + sum(fetched.rejected.values()) < limit:
            per_page = min(PAGE_SIZE, limit)
            payload = self.http.get_json(
                "/coins/markets",
                {
                    "vs_currency": settings.QUOTE_CURRENCY.lower(),
                    "order": "market_cap_desc",
                    "per_page": per_page,
                    "page": page,
                },
            )
            if not isinstance(payload, list):
                raise ProviderDataError("coingecko /coins/markets: expected a list")
            for entry in payload[: limit - len(fetched.records)]:
                try:
                    fetched.records.append(parse_market(entry))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    fetched.reject(reason_for(exc))
            if len(payload) < per_page:
                break
            page += 1
        return fetched

    def candles(
        self, *, asset: Asset, interval: str, start: datetime, end: datetime
    ) -> Fetched[CandleIn]:
        if interval not in OHLC_DAYS or not asset.coingecko_id:
            raise NotSupported(f"coingecko: no {interval} candles for {asset.symbol}")
        low, high = OHLC_DAYS[interval]
        # The endpoint only counts back from now: ask for enough days to cover `start`.
        days_back = (datetime.now(start.tzinfo) - start).total_seconds() / 86400
        days = min(high, max(low, int(days_back) + 1))
        payload = self.http.get_json(
            f"/coins/{asset.coingecko_id}/ohlc",
            {"vs_currency": settings.QUOTE_CURRENCY.lower(), "days": days},
        )
        if not isinstance(payload, list):
            raise ProviderDataError("coingecko /ohlc: expected a list")
        fetched: Fetched[CandleIn] = Fetched()
        step = DURATIONS[interval]
        for entry in payload:
            try:
                ts, o, h, low_, c = entry
                # CoinGecko stamps OHLC with the candle's close time; ours is open time.
                open_time = from_millis(ts) - step
                # The OHLC endpoint carries no volume; 0 means "not reported".
                candle = CandleIn(open_time, number(o), number(h), number(low_),
                                  number(c), 0.0)  # fmt: skip
            except (TypeError, ValueError) as exc:
                fetched.reject(reason_for(exc))
                continue
            if start <= candle.open_time < end:
                fetched.records.append(candle)
        return fetched
