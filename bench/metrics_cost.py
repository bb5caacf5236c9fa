"""What the request metrics and the access line cost a latest-price request, timed in
one process.

The served pairs (bench/api.py) compare two servers' req/s, which this machine moves by
more than the metrics cost. Here the two are timed directly, in the same process and
the same seconds: the metrics middleware's work for one request (multiprocess mode, as
served: its writes go to the mmap files) and one whole latest-price request through
Django's WSGI handler, metrics included, answered as the web server answers it (from
the process's latest-price mirror, the request counted in the process). The access
line: the same requests with the access logger at INFO and at WARNING, in interleaved
rounds, lines buffered as served. Run by `bench api` in a subprocess with a server's
environment: `python -m bench.metrics_cost` prints one JSON line.
"""

import io
import json
import logging
import sys
import time
from collections.abc import Callable
from statistics import median

import django

PATH = "/api/v1/prices/latest/BTC/"


def per_call_us(function: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """The median over `rounds` of the mean µs per call of `function`."""
    means = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        means.append((time.perf_counter() - started) / calls * 1e6)
    return median(means)


def main() -> dict[str, float]:
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from marketpulse.metrics import RequestMetricsMiddleware

    handler = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": PATH, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
    }  # fmt: skip

    def request() -> None:
        statuses: list[str] = []
        start = lambda status, headers: statuses.append(status)  # noqa: E731
        handler({**environ, "wsgi.input": io.BytesIO()}, start)  # type: ignore[arg-type]
        assert statuses[0].startswith("200"), statuses

    response = HttpResponse(b"{}", content_type="application/json")
    metrics = RequestMetricsMiddleware(lambda r: response)
    probe = RequestFactory().get(PATH)
    probe.resolver_match = resolve(PATH)

    def middleware() -> None:  # its hooks, in the order Django calls them
        metrics.process_request(probe)
        metrics.process_view(probe, None)
        metrics.process_response(probe, response)

    served_like()
    per_call_us(request, 300, rounds=1)  # warm: connections, caches
    middleware_us = per_call_us(middleware, 20_000)
    request_us = per_call_us(request, 2_000)
    access_us = access_line_us(request)
    return {
        "middleware_us": round(middleware_us, 1),
        "latest_request_us": round(request_us),
        "share_pct": round(100 * middleware_us / request_us, 2),
        "access_line_us": round(access_us, 1),
        "access_share_pct": round(100 * access_us / request_us, 2),
    }


def served_like() -> None:
    """As a web server's process after its first request: rate limits counted in the
    process, latest prices from its mirror (marketpulse/asgi.py)."""
    from django.conf import settings

    from marketpulse.api.throttles import start_batching
    from prices import latest_mirror
    from prices.latest import latest_prices

    latest_prices(None)  # marks the Redis copy complete, as a first full read does
    start_batching(settings.RATE_LIMIT_BATCH_MS / 1000)
    mirror = latest_mirror.start()
    deadline = time.monotonic() + 10
    while not mirror.live and time.monotonic() < deadline:
        time.sleep(0.05)


def access_line_us(request: Callable[[], object], rounds: int = 5) -> float:
    """What the access line adds to a whole latest-price request: the same requests
    with the access logger at INFO and at WARNING, in interleaved rounds, lines
    buffered as served (`logs.start_buffering`). Timed alone, in a loop, the line's
    parts cost about a third of what they cost inside a request (cold caches)."""
    from marketpulse import logs
    from marketpulse.api.middleware import access_log

    logs.start_buffering()
    logged: list[float] = []
    quiet: list[float] = []
    for _ in range(rounds):
        for level, into in ((logging.INFO, logged), (logging.WARNING, quiet)):
            access_log.setLevel(level)
            into.append(per_call_us(request, 2_000, rounds=1))
    access_log.setLevel(logging.NOTSET)
    return median(logged) - median(quiet)


if __name__ == "__main__":
    print(json.dumps(main()))
