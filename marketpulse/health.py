"""Health: a real round trip to PostgreSQL, Redis and a Celery worker, each with a short timeout."""

import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django_redis import get_redis_connection

from marketpulse.celery import app as celery_app

CELERY_PING_TIMEOUT = 1.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    get_redis_connection("default").ping()


def check_celery() -> None:
    with celery_app.connection_for_write() as conn:
        # Fail fast when the broker is down instead of kombu's patient reconnect loop.
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=1
        )
        # limit=1: return at the first pong instead of waiting out the timeout.
        replies = celery_app.control.ping(
            timeout=CELERY_PING_TIMEOUT, limit=1, connection=conn
        )
    if not replies:
        raise RuntimeError(f"no worker answered within {CELERY_PING_TIMEOUT}s")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
}


def run_checks() -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "down", and says why
            if name == "database":
                connection.close()  # so the next request reconnects cleanly
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"ok": True}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return results


def health(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "down" if down else "ok", "down": down, "checks": checks}
    return JsonResponse(body, status=503 if down else 200)


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
