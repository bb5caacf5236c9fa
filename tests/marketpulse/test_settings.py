import os
import subprocess
import sys

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from django_redis.cache import RedisCache

from marketpulse.celery import app as celery_app
from tests.servers import BASE_DIR


def test_celery_speaks_json_with_time_limits():
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT > 0
    assert 0 < celery_app.conf.task_soft_time_limit < celery_app.conf.task_time_limit
    assert celery_app.conf.broker_url == settings.REDIS_URL


def test_postgresql_is_the_engine_and_redis_the_cache():
    # django-prometheus's backends are the same ones, instrumented (METRICS_ENABLED).
    assert settings.DATABASES["default"]["ENGINE"] in {
        "django.db.backends.postgresql",
        "django_prometheus.db.backends.postgresql",
    }
    assert connection.vendor == "postgresql"
    assert issubclass(import_string(settings.CACHES["default"]["BACKEND"]), RedisCache)
    assert settings.DEBUG is False


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="p" * 30 + "-production-grade-secret-" + "q" * 30,
        DEBUG="false",
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="true",
        ALLOWED_HOSTS="marketpulse.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_secret_key_fails_loudly_naming_it():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; "
         "os.environ['DJANGO_SETTINGS_MODULE']='marketpulse.settings'; django.setup()"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
