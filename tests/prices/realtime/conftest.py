"""Real servers for the WebSocket tests: one uvicorn per module, serving the test database."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from tests import servers


@pytest.fixture(scope="module")
def server_env(django_db_setup, django_db_blocker) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment of a web server on the test database."""
    with django_db_blocker.unblock():
        return servers.child_env(connection.settings_dict)


@pytest.fixture(scope="module")
def start_server(server_env: dict[str, str]) -> Callable[..., Any]:
    """Starts a real uvicorn (with extra env settings); yields its ws:// base URL."""

    @contextlib.contextmanager
    def start(**settings: str) -> Iterator[str]:
        with servers.asgi_server({**server_env, **settings}) as base_url:
            yield base_url.replace("http://", "ws://")

    return start


@pytest.fixture(autouse=True)
def _no_persistent_connections(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Async tests reach the database from worker threads (`database_sync_to_async`):
    close those connections after each call, so the test database can be dropped."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture(scope="module")
def ws_url(start_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with start_server() as base:
        yield base
