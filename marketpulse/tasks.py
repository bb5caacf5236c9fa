"""Celery edges around the project's own housekeeping."""

from celery import shared_task

from marketpulse.api.idempotency import purge_expired_keys


@shared_task(name="marketpulse.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Deletes expired idempotency records; safe to run any time, or twice."""
    return purge_expired_keys()
