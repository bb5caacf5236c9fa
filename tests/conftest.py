"""Shared fixtures: clients, personas, assets, and real servers for end-to-end tests."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from rest_framework.test import APIClient

from assets.models import Asset
from tests import servers
from tests.factories import AssetFactory, OperatorFactory, UserFactory


def pytest_sessionstart(session: pytest.Session) -> None:
    """Pages and docs are served with hashed static names (as in production): collect once,
    before test modules are imported (some build the app, which wants the directory)."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Tests share their Redis servers: start each from empty ones (the response cache
    may have a Redis of its own)."""
    cache.clear()
    if (
        settings.CACHES["responses"]["LOCATION"]
        != settings.CACHES["default"]["LOCATION"]
    ):
        caches["responses"].clear()
    return


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def btc(db) -> Asset:  # type: ignore[no-untyped-def]
    return AssetFactory(symbol="BTC", name="Bitcoin", coingecko_id="bitcoin", rank=1)


@pytest.fixture
def eth(db) -> Asset:  # type: ignore[no-untyped-def]
    return AssetFactory(symbol="ETH", name="Ethereum", coingecko_id="ethereum", rank=2)


@pytest.fixture
def server_env(transactional_db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Environment for child processes, pointing them at the test database."""
    return servers.child_env(connection.settings_dict)


@pytest.fixture
def live_asgi(server_env: dict[str, str]) -> Iterator[str]:
    """The real ASGI server (uvicorn) on a free port, serving the test database."""
    with servers.asgi_server(server_env) as base_url:
        yield base_url


# --- Personas (issue 6): alice owns, bob is another user, charlie an outsider, and an
# operator. Each has the password tests.factories.PASSWORD.


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


@pytest.fixture
def charlie(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="charlie")


@pytest.fixture
def operator(db):  # type: ignore[no-untyped-def]
    return OperatorFactory(username="operator")


@pytest.fixture
def alice_client(alice) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_client(bob) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(bob)
    return client
