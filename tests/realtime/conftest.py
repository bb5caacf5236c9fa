"""Real servers for the WebSocket tests: one uvicorn per module, serving the test database."""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from tests import servers


@pytest.fixture(scope="module")
def start_server(django_db_setup, django_db_blocker) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """Starts a real uvicorn (with extra env settings); yields its ws:// base URL."""
    with django_db_blocker.unblock():
        env = servers.child_env(connection.settings_dict)

    @contextlib.contextmanager
    def start(**settings: str) -> Iterator[str]:
        with servers.asgi_server({**env, **settings}) as base_url:
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
