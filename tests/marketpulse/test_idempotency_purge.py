"""Idempotency records are purged once past their retention (IDEMPOTENCY_TTL_HOURS)."""

from datetime import UTC, datetime, timedelta

import pytest

from marketpulse.celery import app as celery_app
from marketpulse.models import IdempotencyKey
from marketpulse.tasks import purge_idempotency_keys
from tests.factories import IdempotencyKeyFactory

pytestmark = pytest.mark.django_db


def record(user, key: str, age: timedelta) -> IdempotencyKey:  # type: ignore[no-untyped-def]
    made = IdempotencyKeyFactory(user=user, key=key)
    IdempotencyKey.objects.filter(pk=made.pk).update(created_at=datetime.now(UTC) - age)
    return made


def test_records_past_the_retention_are_deleted_and_the_rest_kept(alice, settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    old = record(alice, "old", timedelta(hours=25))
    fresh = record(alice, "fresh", timedelta(hours=23))
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()
    assert purge_idempotency_keys() == 0  # safe to run again


def test_the_worker_knows_the_purge_task_by_its_scheduled_name():
    celery_app.loader.import_default_modules()
    assert "marketpulse.purge_idempotency_keys" in celery_app.tasks
