"""Celery edges around `prices.ingest.sync`: they take ids and names, never instances.

Task names keep their first spelling (`prices.*`): beat entries in the database name them.
"""

from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from marketpulse.errors import MarketPulseError
from prices.ingest import sync
from prices.models import SyncRun

# One quick retry, then give up: the caller is waiting on an HTTP request.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}


class BrokerUnavailable(MarketPulseError):
    """The run could not be handed to a worker (Redis down): recorded failed, a 503."""

    def __init__(self) -> None:
        super().__init__(
            code="broker_unavailable",
            message="The task queue is unavailable; the sync was not queued. "
            "Try again shortly.",
            status=503,
        )


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
    """Records a queued run and enqueues it once the transaction commits; if the broker
    refuses, the run is recorded failed (never left queued forever) and the commit
    raises `BrokerUnavailable`."""
    run = SyncRun.objects.create(job=job, params=params)
    transaction.on_commit(lambda: enqueue_run(run_id=run.pk))
    return run


def enqueue_run(*, run_id: int) -> None:
    """Hands a recorded run to a worker, or records why it could not."""
    try:
        run_sync.apply_async((run_id,), retry=True, retry_policy=PUBLISH_RETRY)
    except (BrokerError, OSError) as exc:
        SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"not queued: the broker was unavailable ({type(exc).__name__})",
        )
        raise BrokerUnavailable() from exc
