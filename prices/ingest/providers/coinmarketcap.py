"""CoinMarketCap (secondary): `/v1/cryptocurrency/listings/latest`, key in a header.

Documented limits: 30 calls/min and 10,000 credits/month on the basic plan; one listings
call costs 1 credit per 200 coins. CMC has no candles on the basic plan.
"""

from typing import Any

from django.conf import settings

from assets.records import ListingIn
from prices.ingest.providers.base import (
    Fetched,
    Provider,
    ProviderDataError,
    ProviderUnavailable,
    from_iso,
    optional_number,
    positive_price,
    reason_for,
    sane_as_of,
)
from prices.ingest.providers.http import HttpClient

BASE_URL = "https://pro-api.coinmarketcap.com"


def parse_listing(entry: Any, *, quote: str) -> ListingIn:
    usd = entry["quote"][quote]
    rank = entry.get("cmc_rank")
    return ListingIn(
        symbol=str(entry["symbol"]).strip().upper(),
        name=str(entry["name"]).strip(),
        price=positive_price(usd["price"]),
        # The quote's own timestamp: the coin-level one can be older (documented sample).
        as_of=sane_as_of(from_iso(usd.get("last_updated") or entry["last_updated"])),
        rank=int(rank) if rank else None,
        market_cap=optional_number(usd.get("market_cap")) or None,
        volume_24h=optional_number(usd.get("volume_24h")),
        change_24h=optional_number(usd.get("percent_change_24h")),
        circulating_supply=optional_number(entry.get("circulating_supply")),
        total_supply=optional_number(entry.get("total_supply")),
        max_supply=optional_number(entry.get("max_supply")),
        coinmarketcap_id=int(entry["id"]),
    )


class CoinMarketCap(Provider):
    name = "coinmarketcap"

    def __init__(self, *, base_url: str | None = None) -> None:
        key = settings.COINMARKETCAP_API_KEY
        self.http = HttpClient(
            provider=self.name,
            base_url=base_url or settings.COINMARKETCAP_BASE_URL or BASE_URL,
            headers={"X-CMC_PRO_API_KEY": key} if key else {},
            rate_per_minute=settings.COINMARKETCAP_RATE_PER_MINUTE,
        )

    def listings(self, *, limit: int) -> Fetched[ListingIn]:
        quote = settings.QUOTE_CURRENCY.upper()
        payload = self.http.get_json(
            "/v1/cryptocurrency/listings/latest",
            {"start": 1, "limit": limit, "convert": quote},
        )
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise ProviderDataError("coinmarketcap listings: expected {status, data}")
        status = payload.get("status") or {}
        # error_message is "" in the documented sample and null in live answers.
        if status.get("error_code"):
            raise ProviderUnavailable(
                f"coinmarketcap: {status.get('error_code')} {status.get('error_message')}"
            )
        fetched: Fetched[ListingIn] = Fetched()
        for entry in payload["data"][:limit]:
            try:
                fetched.records.append(parse_listing(entry, quote=quote))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                fetched.reject(reason_for(exc))
        return fetched
