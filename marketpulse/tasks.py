"""Celery edges around the project's own housekeeping."""

from celery import shared_task

from marketpulse.api.idempotency import purge_expired_keys
from marketpulse.audit import purge_old_entries


@shared_task(name="marketpulse.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Deletes expired idempotency records; safe to run any time, or twice."""
    return purge_expired_keys()


@shared_task(name="marketpulse.purge_audit_log")
def purge_audit_log() -> int:
    """Deletes audit entries older than AUDIT_RETENTION_DAYS; safe to run twice."""
    return purge_old_entries()
