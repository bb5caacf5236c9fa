"""PostgreSQL down: a quick 503 in the envelope, with Retry-After, never a 500. Through
the real server, its database a port that refuses or a server that never answers."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import servers

pytestmark = pytest.mark.slow


@pytest.fixture
def hung_postgres() -> Iterator[int]:
    """Accepts TCP connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def timed_get(base_url: str, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{base_url}{path}", timeout=30)
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "database_unavailable"
    assert set(error) == {"code", "message", "details", "request_id"}
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("down", ["refusing", "hung"])
def test_postgresql_down_is_a_quick_503(server_env, hung_postgres, down):
    port = servers.free_port() if down == "refusing" else hung_postgres
    env = {**server_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"}
    with servers.asgi_server(env) as base_url:
        response, elapsed = timed_get(base_url, "/api/v1/assets/")
        assert_unavailable(response)
    # The default connect timeout is libpq's floor (2 s).
    assert elapsed < 2.8, elapsed
