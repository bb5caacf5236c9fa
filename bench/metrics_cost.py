"""What the request metrics cost a latest-price request, timed in one process.

The served pairs (bench/api.py) compare two servers' req/s, which this machine moves by
more than the metrics cost. Here the two are timed directly, in the same process and
the same seconds: the metrics middleware's work for one request (multiprocess mode, as
served: its writes go to the mmap files) and one whole latest-price request through
Django's WSGI handler, metrics included. Run by `bench api` in a subprocess with a
server's environment: `python -m bench.metrics_cost` prints one JSON line.
"""

import io
import json
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

    per_call_us(request, 300, rounds=1)  # warm: connections, caches
    middleware_us = per_call_us(middleware, 20_000)
    request_us = per_call_us(request, 2_000)
    return {
        "middleware_us": round(middleware_us, 1),
        "latest_request_us": round(request_us),
        "share_pct": round(100 * middleware_us / request_us, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
