"""Health makes real round trips: these tests stop and start real servers to prove it."""

import pytest

from tests import servers
from tests.servers import redis_at

pytestmark = pytest.mark.slow


def test_live_answers_while_the_process_runs(client):
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_naming_celery_when_no_worker_runs(client, db):
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["celery"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert "no worker answered" in body["checks"]["celery"]["error"]


def test_health_is_200_with_every_check_up(client, server_env):
    with servers.celery_worker(server_env):
        response = client.get("/health/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert {name: c["ok"] for name, c in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "celery": True,
    }


def test_redis_going_away_turns_health_503_and_back(client, db, settings, tmp_path):
    """Kill Redis under a running app: 503 naming Redis, then 200 once it returns."""
    port = servers.free_port()
    redis_at(settings, f"redis://127.0.0.1:{port}/0")

    def redis_check() -> tuple[int, dict]:
        response = client.get("/health/")
        return response.status_code, response.json()["checks"]["redis"]

    with servers.redis_server(port, tmp_path):
        assert redis_check()[1]["ok"] is True
    status, check = redis_check()
    assert status == 503
    assert check["ok"] is False
    assert "Connection" in check["error"]
    with servers.redis_server(port, tmp_path):
        assert redis_check()[1]["ok"] is True


def test_served_health_names_what_is_down_and_answers_fast(server_env):
    """The real server, started with PostgreSQL and Redis URLs that nothing listens on."""
    import time

    import httpx

    dead = servers.free_port()
    env = {
        **server_env,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead}/nothing",
        "REDIS_URL": f"redis://127.0.0.1:{dead}/0",
    }
    with servers.asgi_server(env) as base_url:
        started = time.monotonic()
        response = httpx.get(f"{base_url}/health/", timeout=20)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["down"] == ["database", "redis", "celery"]
    assert elapsed < 6, (f"health took {elapsed:.1f}s", response.json())
