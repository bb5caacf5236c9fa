"""The default beat schedule, declared once as data and synced into django-celery-beat.

`manage.py sync_beat_schedule` (run by bin/serve) creates missing entries and leaves
existing ones alone, so edits made in the admin (times, enabled flag) survive restarts.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

TASK = "prices.scheduled_sync"


@dataclass(frozen=True)
class Entry:
    name: str
    kwargs: dict[str, Any]
    every_seconds: int | None = None
    cron: dict[str, str] = field(default_factory=dict)  # minute, hour, ...
    expires_seconds: int | None = None  # a run that waited this long is dropped
    enabled: bool = True
    task: str = TASK  # a sync job by default; housekeeping names its own task


def default_schedule() -> list[Entry]:
    replay_first = list(settings.MARKET_PROVIDERS)[:1] == ["replay"]
    return [
        Entry("prices: top 50 every 5 minutes", {"job": "prices", "limit": 50},
              every_seconds=300, expires_seconds=240),
        # Offline demo: replay moves every REPLAY_STEP_SECONDS, so poll at that pace.
        Entry("prices: replay tick", {"job": "prices", "limit": 50},
              every_seconds=settings.REPLAY_STEP_SECONDS,
              expires_seconds=settings.REPLAY_STEP_SECONDS, enabled=replay_first),
        Entry("prices: top 200 hourly", {"job": "prices", "limit": 200},
              cron={"minute": "2"}, expires_seconds=1800),
        Entry("candles: top 200 recent 1h candles hourly",
              {"job": "candles", "limit": 200, "interval": "1h", "hours": 24},
              cron={"minute": "7"}, expires_seconds=1800),
        Entry("cleanup: fine candles past retention", {"job": "cleanup"},
              cron={"minute": "15", "hour": "3"}, expires_seconds=6 * 3600),
        Entry("report: daily market report", {"job": "report"},
              cron={"minute": "10", "hour": "0"}, expires_seconds=6 * 3600),
        Entry("housekeeping: expired idempotency keys", {},
              cron={"minute": "25", "hour": "3"}, expires_seconds=6 * 3600,
              task="marketpulse.purge_idempotency_keys"),
        Entry("housekeeping: audit log past retention", {},
              cron={"minute": "35", "hour": "3"}, expires_seconds=6 * 3600,
              task="marketpulse.purge_audit_log"),
        Entry("alerts: webhook deliveries left pending", {}, every_seconds=600,
              expires_seconds=600, task="alerts.retry_pending_webhooks"),
        # Forecasts (analytics.forecasts.tasks): due predictions scored every 5 minutes
        # (candle writes score them too); every model retrained nightly.
        Entry("forecasts: score due predictions", {}, every_seconds=300,
              expires_seconds=240, task="forecasts.score_predictions"),
        Entry("forecasts: train models nightly", {},
              cron={"minute": "40", "hour": "2"}, expires_seconds=6 * 3600,
              task="forecasts.train_models"),
    ]  # fmt: skip


def sync_beat_schedule() -> list[str]:
    """Creates the entries missing from the database; returns their names."""
    created: list[str] = []
    with transaction.atomic():
        for entry in default_schedule():
            if PeriodicTask.objects.filter(name=entry.name).exists():
                continue
            schedule: dict[str, Any] = {}
            if entry.every_seconds:
                schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=entry.every_seconds, period=IntervalSchedule.SECONDS
                )
            else:
                cron = {"minute": "*", "hour": "*", "day_of_week": "*",
                        "day_of_month": "*", "month_of_year": "*", **entry.cron}  # fmt: skip
                schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    timezone="UTC", **cron
                )
            PeriodicTask.objects.create(
                name=entry.name,
                task=entry.task,
                kwargs=json.dumps(entry.kwargs),
                expire_seconds=entry.expires_seconds,
                enabled=entry.enabled,
                **schedule,
            )
            created.append(entry.name)
    return created
