"""Celery edges around `prices.ingest.sync`: they take ids and names, never instances.

Task names keep their first spelling (`prices.*`): beat entries in the database name them.
"""

from typing import Any

from celery import shared_task
from django.db import transaction

from prices.ingest import sync
from prices.models import SyncRun


@shared_task(name="prices.run_sync", acks_late=True)
def run_sync(run_id: int) -> str:
    """Runs one recorded sync run; a redelivered message for a finished run is a no-op."""
    return sync.run_sync(run_id=run_id).status


@shared_task(name="prices.scheduled_sync")
def scheduled_sync(job: str, **params: Any) -> int:
    """What beat calls: records a run of `job` and runs it here; returns the run's id.
    Overlapping runs are safe: the second finds the lock held and is skipped."""
    run = SyncRun.objects.create(job=job, params=params)
    sync.run_sync(run_id=run.pk)
    return run.pk


def queue_sync(*, job: str, params: dict[str, Any]) -> SyncRun:
    """Records a queued run and enqueues it once the transaction commits."""
    run = SyncRun.objects.create(job=job, params=params)
    transaction.on_commit(lambda: run_sync.delay(run.pk))
    return run
