"""`/metrics` from the real served stack: two uvicorn workers and a Celery worker share one
multiprocess directory, and one scrape shows all three processes' counts."""

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import websockets
from django.db import transaction
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from marketpulse.metrics import reset_multiprocess_dir
from prices.ingest.tasks import queue_sync
from prices.latest import iso_z
from prices.realtime.broadcast import publish_price
from tests import servers

pytestmark = pytest.mark.slow

TOKEN = "scrape-token-for-tests-only"
LIVE_VIEW = 'view="health-live"'


def scrape(base: str) -> dict[tuple[str, frozenset], float]:
    response = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def pids_counting_live_requests(directory: Path) -> set[str]:
    """Which processes' own files hold requests to /health/live/ (before summing)."""
    pids = set()
    for path in directory.glob("counter_*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            if (
                value
                and "django_http_requests_total_by_view_transport_method" in key
                and "health-live" in key
            ):
                pids.add(path.stem.removeprefix("counter_"))
    return pids


@pytest.mark.django_db(transaction=True)
def test_one_scrape_sums_both_web_processes_and_the_worker(server_env, tmp_path):
    directory = tmp_path / "metrics"
    reset_multiprocess_dir(directory)
    env = {
        **server_env,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "MARKET_PROVIDERS": "replay",
        "METRICS_TOKEN": TOKEN,
    }
    with (
        servers.celery_worker(env),
        servers.asgi_server(env, workers=2) as base,
    ):
        # A sync run by the worker.
        with transaction.atomic():
            run = queue_sync(job="prices", params={"limit": 50})
        deadline = time.monotonic() + 30
        while run.status not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
        assert run.status == "succeeded", run.error

        # HTTP traffic, a new connection each, until both web processes have served some
        # (and so have accepted what the start-up probes that timed out left queued).
        warmed = 0
        while len(pids_counting_live_requests(directory)) < 2 and warmed < 400:
            for _ in range(20):
                assert httpx.get(f"{base}/health/live/", timeout=5).status_code == 200
            warmed += 20
        assert len(pids_counting_live_requests(directory)) == 2
        before = scrape(base)
        sent = 40
        for _ in range(sent):
            assert httpx.get(f"{base}/health/live/", timeout=5).status_code == 200

        # A WebSocket subscription, open while we scrape, and one live update through it.
        async def subscribed_scrape() -> dict:
            ws_url = base.replace("http://", "ws://") + "/ws/prices/"
            async with websockets.connect(ws_url, origin=base) as ws:
                await ws.send(json.dumps({"action": "subscribe", "symbols": ["BTC"]}))
                while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != (
                    "subscribed"
                ):
                    pass
                price = {
                    "symbol": "BTC", "price": 1.0, "quote": "USD",
                    "as_of": iso_z(datetime.now(UTC)), "source": "test",
                }  # fmt: skip
                publish_price(price)  # type: ignore[arg-type]
                while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != (
                    "price"
                ):
                    pass
                return await asyncio.to_thread(scrape, base)

        after = asyncio.run(subscribed_scrape())

    # Both web processes and the worker are in the one scrape.
    up = [
        dict(labels)
        for (name, labels), value in after.items()
        if name == "marketpulse_process_up" and value == 1
    ]
    assert len({u["pid"] for u in up if u["role"] == "web"}) == 2
    assert len({u["pid"] for u in up if u["role"] == "worker"}) >= 1
    # The sum, not whichever process answered: every request sent is counted once.
    counted = total(
        after, "django_http_requests_total_by_view_transport_method_total",
        view="health-live",
    ) - total(
        before, "django_http_requests_total_by_view_transport_method_total",
        view="health-live",
    )  # fmt: skip
    assert counted == sent
    # The worker's metrics reach the web scrape.
    assert total(after, "marketpulse_sync_runs_total", job="prices",
                 provider="replay", status="succeeded") == 1  # fmt: skip
    assert (
        total(after, "marketpulse_candles_written_total", job="prices")
        == (run.inserted + run.updated)
        > 0
    )
    # The realtime side: the open socket, the hub's hand-off of the update.
    assert total(after, "marketpulse_websocket_connections", stream="prices") == 1
    assert total(after, "marketpulse_fanout_delivery_seconds_count") >= 1
    assert total(after, "marketpulse_fanout_deliveries_total") >= 1
    # Scrape-time values: the staleness of the synced prices and the broker queue.
    ages = {
        dict(labels)["symbol"]: value
        for (name, labels), value in after.items()
        if name == "marketpulse_latest_price_age_seconds"
    }
    assert "BTC" in ages
    assert ages["BTC"] >= 0
    assert (
        "marketpulse_celery_queue_length",
        frozenset({("queue", "celery")}),
    ) in after
    # Database and cache operations from django-prometheus.
    assert total(after, "django_db_execute_total") > 0


@pytest.mark.django_db(transaction=True)
def test_scrapes_without_the_token_from_outside_the_allow_list_are_refused(
    server_env, tmp_path
):
    directory = tmp_path / "metrics"
    reset_multiprocess_dir(directory)
    env = {
        **server_env,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "METRICS_TOKEN": TOKEN,
        # Loopback is not allowed here: only the token lets a scrape in.
        "METRICS_ALLOWED_IPS": "192.0.2.1/32",
    }
    with servers.asgi_server(env) as base:
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 403
        wrong = {"Authorization": "Bearer not-the-token"}
        assert httpx.get(f"{base}/metrics", headers=wrong, timeout=5).status_code == 403
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{base}/metrics", headers=good, timeout=5).status_code == 200
