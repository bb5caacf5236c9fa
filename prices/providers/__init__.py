"""Market-data providers, all of one shape (`base.Provider`), chosen by name."""

from django.conf import settings

from prices.providers.base import (
    Fetched,
    ListingIn,
    NotSupported,
    PriceIn,
    Provider,
    ProviderDataError,
    ProviderError,
    ProviderUnavailable,
)

__all__ = [
    "Fetched", "ListingIn", "NotSupported", "PriceIn", "Provider", "ProviderDataError",
    "ProviderError", "ProviderUnavailable", "get_provider", "provider_names",
]  # fmt: skip

NAMES = ("coingecko", "coinmarketcap", "binance", "replay")


def get_provider(name: str) -> Provider:
    if name == "coingecko":
        from prices.providers.coingecko import CoinGecko

        return CoinGecko()
    if name == "coinmarketcap":
        from prices.providers.coinmarketcap import CoinMarketCap

        return CoinMarketCap()
    if name == "binance":
        from prices.providers.binance import Binance

        return Binance()
    if name == "replay":
        from prices.providers.replay import Replay

        return Replay()
    raise ValueError(f"unknown provider {name!r}; known: {', '.join(NAMES)}")


def provider_names() -> list[str]:
    """The configured order: the first serves, the next ones are fallbacks."""
    return list(settings.MARKET_PROVIDERS)
