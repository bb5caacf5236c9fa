"""Market-data providers, all of one shape (`base.Provider`), chosen by name."""

from django.conf import settings

from assets.records import ListingIn
from prices.ingest.providers.base import (
    Fetched,
    NotSupported,
    Provider,
    ProviderDataError,
    ProviderError,
    ProviderUnavailable,
)
from prices.records import PriceIn

__all__ = [
    "Fetched", "ListingIn", "NotSupported", "PriceIn", "Provider", "ProviderDataError",
    "ProviderError", "ProviderUnavailable", "get_provider", "provider_names",
]  # fmt: skip

NAMES = ("coingecko", "coinmarketcap", "binance", "replay")


def get_provider(name: str) -> Provider:
    if name == "coingecko":
        from prices.ingest.providers.coingecko import CoinGecko

        return CoinGecko()
    if name == "coinmarketcap":
        from prices.ingest.providers.coinmarketcap import CoinMarketCap

        return CoinMarketCap()
    if name == "binance":
        from prices.ingest.providers.binance import Binance

        return Binance()
    if name == "replay":
        from prices.ingest.providers.replay import Replay

        return Replay()
    raise ValueError(f"unknown provider {name!r}; known: {', '.join(NAMES)}")


def provider_names() -> list[str]:
    """The configured order: the first serves, the next ones are fallbacks."""
    return list(settings.MARKET_PROVIDERS)
