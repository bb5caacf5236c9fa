"""Health: a real round trip to PostgreSQL, Redis and a Celery worker, each with a short
timeout, probed at most once per HEALTH_CACHE_SECONDS per process.

Without a worker the Celery probe waits out its ping (a second): uncached, a burst of
`/health/` calls would hold every HTTP thread of the process. Concurrent calls share one
probe. The public answer names each component and its state; operators (session, token
or API key) also get the error text and timings, which name hosts, ports and sockets.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django_redis import get_redis_connection
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from marketpulse.accounts.authentication import (
    ApiKeyAuthentication,
    BearerAuthentication,
)
from marketpulse.accounts.permissions import is_operator
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


_probe_lock = threading.Lock()
_probed: tuple[float, dict[str, dict[str, object]]] | None = None


def probed_checks() -> dict[str, dict[str, object]]:
    """The last probe if younger than HEALTH_CACHE_SECONDS, else a new one. One caller
    probes at a time; while it does, the others answer with the previous probe (or,
    before the first one, wait for it) rather than each holding a thread for a second."""
    global _probed
    last = _probed
    if last is not None and time.monotonic() - last[0] < settings.HEALTH_CACHE_SECONDS:
        return last[1]
    if last is not None and not _probe_lock.acquire(blocking=False):
        return last[1]  # another caller is probing: the previous answer meanwhile
    if last is None:
        _probe_lock.acquire()  # before the first probe there is nothing to answer with
    try:
        if _probed is not last and _probed is not None:  # probed while we waited
            return _probed[1]
        checks = run_checks()
        _probed = (time.monotonic(), checks)
        return checks
    finally:
        _probe_lock.release()


def viewer_is_operator(request: HttpRequest) -> bool:
    if is_operator(request.user):  # a session (the admin's)
        return True
    api_request = Request(
        request, authenticators=[BearerAuthentication(), ApiKeyAuthentication()]
    )
    try:
        return is_operator(api_request.user)
    except APIException:  # a bad token or key: the public answer
        return False


def public(checks: dict[str, dict[str, object]]) -> dict[str, dict[str, Any]]:
    return {name: {"ok": result["ok"]} for name, result in checks.items()}


def health(request: HttpRequest) -> JsonResponse:
    checks = probed_checks()
    down = [name for name, result in checks.items() if not result["ok"]]
    shown = checks if viewer_is_operator(request) else public(checks)
    body = {"status": "down" if down else "ok", "down": down, "checks": shown}
    return JsonResponse(body, status=503 if down else 200)


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
