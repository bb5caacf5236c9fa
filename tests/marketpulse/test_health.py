"""Health makes real round trips: these tests stop and start real servers to prove it."""

import pytest

from tests import servers
from tests.servers import redis_at

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _probe_every_call(settings):  # type: ignore[no-untyped-def]
    """These tests stop servers between calls: no cached probe in between."""
    from marketpulse import health

    settings.HEALTH_CACHE_SECONDS = 0
    health._probed = None


def test_live_answers_while_the_process_runs(client):
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_naming_celery_when_no_worker_runs(client, operator):
    client.force_login(operator)
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


def test_redis_going_away_turns_health_503_and_back(
    client, operator, settings, tmp_path
):
    """Kill Redis under a running app: 503 naming Redis, then 200 once it returns."""
    client.force_login(operator)
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


def test_the_public_answer_names_components_and_states_only(client, db):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "down": ["celery"],
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": True},
            "celery": {"ok": False},
        },
    }


def test_an_operators_token_gets_the_details(api_client, operator):
    from tests.factories import PASSWORD

    access = api_client.post(
        "/api/v1/auth/token/", {"username": "operator", "password": PASSWORD}
    ).json()["access"]
    response = api_client.get("/health/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert "no worker answered" in response.json()["checks"]["celery"]["error"]
    # Anyone else, signed in or not, gets the public answer.
    response = api_client.get("/health/", HTTP_AUTHORIZATION="Bearer forged")
    assert "error" not in response.json()["checks"]["celery"]


def test_a_burst_of_health_calls_without_a_worker_answers_quickly(server_env):
    """The real server (one process, its HTTP threads) and no Celery worker: each probe
    waits a second for a pong. Uncached, 40 calls held every thread for seconds and
    /health/live/ queued behind them; now one call probes and the rest answer at once."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    limits = httpx.Limits(max_connections=50)
    with (
        servers.asgi_server({**server_env, "HEALTH_CACHE_SECONDS": "1"}) as base_url,
        httpx.Client(base_url=base_url, timeout=60, limits=limits) as client,
    ):

        def get(path: str) -> tuple[int, float]:
            started = time.monotonic()
            status = client.get(path).status_code
            return status, time.monotonic() - started

        get("/health/")  # the first probe: the process, the pool, a result to reuse
        time.sleep(1.2)  # and now it is stale: the burst must probe again
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=40) as pool:
            burst = [pool.submit(get, "/health/") for _ in range(40)]
            time.sleep(0.2)
            live_status, live_took = get("/health/live/")
            results = [future.result() for future in burst]
        elapsed = time.monotonic() - started
    assert [status for status, _ in results] == [503] * 40
    assert elapsed < 2.5, f"40 health calls took {elapsed:.1f}s"
    quick = [took for _, took in results if took < 0.5]
    assert len(quick) >= 35, sorted(took for _, took in results)
    assert live_status == 200
    assert live_took < 0.5, f"/health/live/ took {live_took:.2f}s during the burst"
