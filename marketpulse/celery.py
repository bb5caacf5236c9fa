"""The Celery app: JSON messages, explicit time limits, settings from Django (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")

app = Celery("marketpulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
