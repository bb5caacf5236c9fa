"""The shipped Prometheus, Grafana and compose files, checked by reading them (no Docker
engine here): every dashboard query names metrics the service exports."""

import importlib
import json
import re

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.core import Metric

from marketpulse import metrics
from tests.servers import BASE_DIR

DASHBOARD = BASE_DIR / "deploy" / "grafana" / "marketpulse.json"
# Modules that define metrics; the served processes import them all.
METRIC_MODULES = [
    "marketpulse.metrics", "prices.ingest.metrics", "prices.realtime.metrics",
    "django_prometheus.middleware", "django_prometheus.db.metrics",
    "django_prometheus.cache.metrics", "analytics.alerts.metrics",
]  # fmt: skip
SUFFIXES = {
    "counter": ["_total", "_created"],
    "histogram": ["_bucket", "_count", "_sum", "_created"],
    "gauge": [""],
    "summary": ["_count", "_sum", "_created"],
}
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "max", "min", "avg",
    "count", "le", "without", "on", "ignoring", "irate", "topk", "bottomk",
}  # fmt: skip


def sample_names(families: list[Metric]) -> set[str]:
    return {
        family.name + suffix
        for family in families
        for suffix in SUFFIXES.get(family.type, [""])
    }


@pytest.fixture
def exported(client, db) -> set[str]:  # type: ignore[no-untyped-def]
    # django-prometheus registers its request metrics when the middleware first runs.
    assert client.get("/health/live/").status_code == 200
    for module in METRIC_MODULES:
        importlib.import_module(module)
    families = list(REGISTRY.collect())
    # Scrape-time collectors: the latest-price age and the broker queue.
    for collect in metrics._scrape_collectors:
        families += list(collect())
    return sample_names(families)


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append(target["expr"])
    return found


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {n for n in names if n not in PROMQL_WORDS and not n.startswith("le")} - {
        "job",
        "view",
        "status",
        "provider",
        "reason",
        "symbol",
        "queue",
        "stream",
        "role",
        "kind",
        "outcome",
    }


def test_every_dashboard_query_names_only_metrics_the_service_exports(exported):
    found = queries()
    assert len(found) >= 15
    named = set().union(*(metric_names(q) for q in found))
    assert named, found
    assert named - exported == set()
    # And the dashboard covers MarketPulse's own metrics, not just Django's.
    ours = {n for n in exported if n.startswith("marketpulse_")}
    for family in (
        "marketpulse_sync_runs_total", "marketpulse_candles_written_total",
        "marketpulse_candles_rejected_total", "marketpulse_provider_request_seconds_bucket",
        "marketpulse_provider_responses_total", "marketpulse_provider_retries_total",
        "marketpulse_provider_errors_total", "marketpulse_latest_price_age_seconds",
        "marketpulse_websocket_connections", "marketpulse_fanout_delivery_seconds_bucket",
        "marketpulse_websocket_slow_clients_total", "marketpulse_replays_running",
        "marketpulse_celery_queue_length", "marketpulse_alerts_fired_total",
        "marketpulse_alert_evaluation_seconds_bucket",
        "marketpulse_webhook_attempts_total", "marketpulse_webhooks_disabled_total",
    ):  # fmt: skip
        assert family in ours
        assert family in named, f"{family} is exported but not on the dashboard"


def test_the_check_itself_catches_a_misspelt_metric(exported):
    assert metric_names("sum(rate(marketpulse_sync_run_total[5m]))") - exported == {
        "marketpulse_sync_run_total"
    }


def test_prometheus_scrapes_web_with_the_bearer_token_file():
    config = yaml.safe_load((BASE_DIR / "deploy" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["credentials_file"] == "/etc/prometheus/metrics_token"
    assert job["static_configs"][0]["targets"] == ["web:8000"]


def test_the_observability_profile_starts_prometheus_and_grafana_with_the_files():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
    # Not started by a plain `docker compose up`.
    assert all("profiles" not in s for n, s in services.items() if n not in
               ("prometheus", "grafana"))  # fmt: skip
    assert (
        "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in services["prometheus"]["volumes"]
    )
    assert any(
        v.startswith("./deploy/grafana/marketpulse.json:")
        for v in services["grafana"]["volumes"]
    )
    token = services["prometheus"]["configs"][0]
    assert token["target"] == "/etc/prometheus/metrics_token"
    assert (
        compose["configs"][token["source"]]["content"]
        == (services["web"]["environment"]["METRICS_TOKEN"])
    )
    # No published default token anywhere (issue 12: no forgeable secrets).
    assert services["web"]["environment"]["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"
    # Every app container shares the metrics directory; migrate empties it first.
    for name in ("web", "worker", "migrate"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == (
            "/app/var/metrics"
        )
        assert "metrics:/app/var/metrics" in services[name]["volumes"]
    assert services["migrate"]["command"].startswith(
        'sh -c "python -m marketpulse.metrics reset /app/var/metrics'
    )
    provisioning = BASE_DIR / "deploy" / "grafana" / "provisioning"
    (source,) = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert source["url"] == "http://prometheus:9090"
