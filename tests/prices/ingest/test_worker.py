"""A real Celery worker with the Redis broker runs a queued sync end to end."""

import time

import pytest
from django.db import transaction

from assets.models import Asset
from prices.ingest.tasks import queue_sync
from prices.latest import latest_prices
from tests import servers


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_sync_to_the_end(server_env):
    env = {**server_env, "MARKET_PROVIDERS": "replay"}
    with servers.celery_worker(env):
        with transaction.atomic():
            run = queue_sync(job="prices", params={"limit": 50})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status in ("succeeded", "failed", "skipped"):
                break
            time.sleep(0.2)
    assert run.status == "succeeded", run.error
    assert run.provider == "replay"
    symbols = set(Asset.objects.values_list("symbol", flat=True))
    assert run.inserted == len(symbols) > 0
    prices, _ = latest_prices(sorted(symbols))
    assert {p["symbol"] for p in prices} == symbols
    assert {p["source"] for p in prices} == {"replay"}
