"""Fixtures for the provider and sync tests."""

from collections.abc import Iterator

import pytest

from tests.prices.ingest.provider_server import ProviderServer, provider_server


@pytest.fixture
def providers_http(settings) -> Iterator[ProviderServer]:  # type: ignore[no-untyped-def]
    """Points every provider client at one local server; fast retries for tests."""
    with provider_server() as server:
        settings.COINGECKO_BASE_URL = f"{server.url}/cg"
        settings.COINMARKETCAP_BASE_URL = f"{server.url}/cmc"
        settings.BINANCE_BASE_URL = f"{server.url}/bn"
        settings.PROVIDER_BACKOFF_SECONDS = 0.01
        settings.PROVIDER_MAX_BACKOFF_SECONDS = 0.05
        settings.PROVIDER_CONNECT_TIMEOUT = 1
        settings.PROVIDER_READ_TIMEOUT = 0.5
        for name in ("COINGECKO", "COINMARKETCAP", "BINANCE"):
            setattr(settings, f"{name}_RATE_PER_MINUTE", 60_000)
        yield server
