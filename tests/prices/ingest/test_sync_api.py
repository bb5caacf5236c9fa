"""`POST /api/v1/sync/` and `GET /api/v1/sync-runs/`: operators only, one error envelope."""

import pytest

from prices.models import SyncRun
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db

SYNC = "/api/v1/sync/"
RUNS = "/api/v1/sync-runs/"


def test_an_operator_queues_a_sync_and_gets_202_with_the_run(
    api_client, operator, django_capture_on_commit_callbacks, monkeypatch
):
    from prices.ingest import tasks

    queued: list[int] = []
    monkeypatch.setattr(
        tasks.run_sync, "apply_async", lambda args, **options: queued.append(*args)
    )
    api_client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = api_client.post(SYNC, {"job": "prices", "limit": 10}, format="json")
    assert r.status_code == 202
    run = SyncRun.objects.get()
    assert r.json()["id"] == run.pk
    assert r.json()["status"] == "queued"
    assert run.params == {"limit": 10}
    assert len(callbacks) == 1
    assert queued == [run.pk]  # enqueued only after the commit, with the run's id


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("anon", 401, "not_authenticated"), ("alice", 403, "permission_denied")],
)
def test_only_operators_may_queue_syncs(api_client, alice, who, status, code):
    if who == "alice":
        api_client.force_login(alice)
    r = api_client.post(SYNC, {"job": "prices"}, format="json")
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert not SyncRun.objects.exists()


def test_a_bad_sync_request_is_a_validation_error_and_queues_nothing(
    api_client, operator
):
    api_client.force_login(operator)
    r = api_client.post(SYNC, {"job": "everything", "limit": 0}, format="json")
    assert r.status_code == 400
    body = r.json()["error"]
    assert body["code"] == "validation_error"
    assert set(body["details"]) == {"job", "limit"}
    assert not SyncRun.objects.exists()


def test_a_backfill_request_needs_a_known_symbol_and_an_ordered_range(
    api_client, operator, btc
):
    api_client.force_login(operator)
    r = api_client.post(SYNC, {"job": "backfill", "symbol": "btc"}, format="json")
    assert r.status_code == 400
    assert set(r.json()["error"]["details"]) == {"interval", "start", "end"}
    r = api_client.post(
        SYNC,
        {"job": "backfill", "symbol": "doge", "interval": "1h",
         "start": "2024-01-02T00:00:00Z", "end": "2024-01-03T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert r.json()["error"]["details"] == {"symbol": ["Unknown asset."]}
    r = api_client.post(
        SYNC,
        {"job": "backfill", "symbol": "btc", "interval": "1h",
         "start": "2024-01-03T00:00:00Z", "end": "2024-01-02T00:00:00Z"},
        format="json",
    )  # fmt: skip
    assert r.json()["error"]["details"] == {"end": ["Must be after start."]}
    r = api_client.post(
        SYNC,
        {"job": "backfill", "symbol": "btc", "interval": "1h",
         "start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59-23:59"},
        format="json",
    )  # fmt: skip
    assert r.status_code == 400
    assert set(r.json()["error"]["details"]) == {"start", "end"}
    assert not SyncRun.objects.exists()


def test_operators_list_sync_runs_newest_first_and_filter_them(api_client, operator):
    older = SyncRunFactory(job="prices", status="succeeded", provider="replay")
    newer = SyncRunFactory(job="candles", status="failed", error="boom")
    api_client.force_login(operator)
    r = api_client.get(RUNS)
    assert r.status_code == 200
    assert r.json()["count"] == 2
    assert [run["id"] for run in r.json()["results"]] == [newer.pk, older.pk]
    assert r.json()["results"][0]["error"] == "boom"
    r = api_client.get(RUNS, {"status": "succeeded"})
    assert [run["id"] for run in r.json()["results"]] == [older.pk]
    assert api_client.get(f"{RUNS}{older.pk}/").json()["provider"] == "replay"


def test_sync_runs_are_not_public(api_client, alice):
    SyncRunFactory(job="prices")
    assert api_client.get(RUNS).status_code == 401
    api_client.force_login(alice)
    assert api_client.get(RUNS).status_code == 403


@pytest.mark.slow
def test_with_the_broker_down_a_sync_is_a_quick_503_and_no_run_stays_queued(server_env):
    """The real server, its Celery broker a Redis port nothing listens on."""
    import time

    import httpx

    from tests import servers
    from tests.factories import PASSWORD, OperatorFactory

    OperatorFactory(username="ops")
    dead = servers.free_port()
    env = {**server_env, "CELERY_BROKER_URL": f"redis://127.0.0.1:{dead}/0"}
    with (
        servers.asgi_server(env) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as client,
    ):
        access = client.post(
            "/api/v1/auth/token/", json={"username": "ops", "password": PASSWORD}
        ).json()["access"]
        started = time.monotonic()
        r = client.post(
            SYNC, json={"job": "prices"}, headers={"Authorization": f"Bearer {access}"}
        )
        elapsed = time.monotonic() - started
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "broker_unavailable"
    assert elapsed < 3, elapsed
    run = SyncRun.objects.get()
    assert run.status == "failed"
    assert "broker" in run.error
    assert not SyncRun.objects.filter(status="queued").exists()
