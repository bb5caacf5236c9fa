"""The Celery app: JSON messages, explicit time limits, settings from Django (CELERY_*)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")

app = Celery("marketpulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.worker_process_init.connect
def _count_this_process(**_: object) -> None:
    """Each worker process shows in the scrape (marketpulse_process_up{role="worker"})."""
    from marketpulse.metrics import mark_process_role

    mark_process_role("worker")


@signals.worker_process_shutdown.connect
def _forget_this_process(**_: object) -> None:
    # Pool children end without atexit handlers: their live gauges are removed here.
    from marketpulse.metrics import process_gone

    process_gone()
