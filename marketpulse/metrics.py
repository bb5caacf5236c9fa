"""Prometheus plumbing: the multiprocess directory, scrape-time collectors, `GET /metrics`.

Every process of the service (each uvicorn worker, each Celery worker process) writes its
metrics into one directory (prometheus_client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`,
`var/metrics` under `make run`), and a scrape of any web process sums them all: the answer is
the service's, not whichever process took the request. The directory must be emptied before
the processes start (`reset_multiprocess_dir`, called by `bin/serve` and the embedded runner),
or the counters of a previous run would be added in.

Apps put their own metrics next to the code that produces them and may register
scrape-time collectors here (`register_scrape_collector`) for values read at scrape
(latest-price age); this module imports no app.
"""

import atexit
import hmac
import ipaddress
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time, TimeSince
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# One series per live process (pid label, multiprocess "liveall"): a scrape shows which
# processes it summed. Set by `mark_process_role` at each process's start.
process_role = Gauge(
    "marketpulse_process_up",
    "1 for each live process of the service, by role (web, worker).",
    ["role"],
    multiprocess_mode="liveall",
)

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: list[ScrapeCollector] = []


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def reset_multiprocess_dir(path: Path) -> None:
    """Empties (or creates) the directory before any process of a run starts."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def process_gone() -> None:
    # Live gauges (connections, replays, process_up) of an ended process must not linger.
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())


def mark_process_role(role: str) -> None:
    """Called once in each process (the ASGI app, each Celery worker process)."""
    process_role.labels(role=role).set(1)
    atexit.register(process_gone)


def register_scrape_collector(collect: ScrapeCollector) -> None:
    """`collect()` runs at each scrape in the answering process (values read, not kept)."""
    if collect not in _scrape_collectors:
        _scrape_collectors.append(collect)


class _ScrapeTime(Collector):
    def collect(self) -> Iterable[Metric]:
        for collect in _scrape_collectors:
            yield from collect()


def celery_queue_length() -> Iterable[Metric]:
    """Messages waiting in the broker (Redis lists named after the queues)."""
    import redis

    family = GaugeMetricFamily(
        "marketpulse_celery_queue_length",
        "Tasks waiting in the Celery broker queue.",
        labels=["queue"],
    )
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
    )
    try:
        for queue in settings.METRICS_CELERY_QUEUES:
            family.add_metric([queue], float(client.llen(queue)))
    except redis.RedisError:
        return  # the scrape still answers; the gap in the series says Redis was down
    finally:
        client.close()
    yield family


register_scrape_collector(celery_queue_length)


def exposition() -> bytes:
    """The whole service's metrics in the Prometheus text format."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    registry.register(_ScrapeTime())
    return generate_latest(registry)


class _Delegate(Collector):
    """This process's default registry (single-process mode: tests, `manage.py`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].encode(), token.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: a bearer token (METRICS_TOKEN) or an allowed address; else 403."""
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _allowed(request):
        response = HttpResponse(
            b"metrics: a bearer token or an allowed address is required\n",
            status=403,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def main(argv: list[str]) -> int:
    """`python -m marketpulse.metrics reset DIR`: what bin/serve calls before starting."""
    if len(argv) != 2 or argv[0] != "reset":
        print("usage: python -m marketpulse.metrics reset DIR", file=sys.stderr)
        return 2
    reset_multiprocess_dir(Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus's per-view request metrics, and only those: counts by view,
    responses by status and view, latency by view. Its other per-request series (by
    method, transport, charset, body sizes, templates, and the "before middlewares"
    totals) double what these say and cost a metric write each on every request.

    Each labelled series is looked up once per process (`_series`): prometheus_client's
    `labels()` costs more than the write itself. Views, methods and statuses are few."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _series(self, metric: Any, *labels: str) -> Any:
        """The child of `metric` for `labels`, given in the metric's label order."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def process_request(self, request: HttpRequest) -> None:
        request.prometheus_after_middleware_event = Time()  # type: ignore[attr-defined]

    def process_view(
        self, request: HttpRequest, view_func: Any, *view_args: Any, **view_kwargs: Any
    ) -> None:
        match = getattr(request, "resolver_match", None)
        if match is not None:
            self._series(
                self.metrics.requests_by_view_transport_method,
                match.view_name or "<unnamed view>",
                self._transport(request),
                self._method(request),
            ).inc()

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        return response

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        name = self._get_view_name(request)
        method = self._method(request)
        self._series(
            self.metrics.responses_by_status_view_method,
            str(response.status_code),
            name,
            method,
        ).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            self._series(
                self.metrics.requests_latency_by_view_method, name, method
            ).observe(TimeSince(started))
        return response
