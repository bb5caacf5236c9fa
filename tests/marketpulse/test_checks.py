"""Settings limited to a known set or range fail at start (system checks), naming the
variable, rather than at first use."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.checks import run_checks

from tests.marketpulse.test_settings import run_manage
from tests.servers import BASE_DIR


def errors_now() -> list[str]:
    return [m.msg for m in run_checks(tags=["settings"])]


def test_the_default_settings_pass_every_check():
    assert errors_now() == []


def throttle(**rates: str) -> dict:
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **rates,
        },
    }


BAD = [
    ("MARKET_PROVIDERS", {"MARKET_PROVIDERS": ["coingeko"]}),
    ("MARKET_PROVIDERS", {"MARKET_PROVIDERS": []}),
    ("MARKET_PROVIDERS", {"MARKET_PROVIDERS": ["replay", "replay"]}),
    ("COINGECKO_API_PLAN", {"COINGECKO_API_PLAN": "enterprise"}),
    ("COINGECKO_RATE_PER_MINUTE", {"COINGECKO_RATE_PER_MINUTE": 0}),
    ("PROVIDER_READ_TIMEOUT", {"PROVIDER_READ_TIMEOUT": -1}),
    ("PROVIDER_MAX_ATTEMPTS", {"PROVIDER_MAX_ATTEMPTS": 0}),
    ("CANDLE_RETENTION_DAYS", {"CANDLE_RETENTION_DAYS": -3}),
    ("CANDLE_RETENTION_INTERVALS", {"CANDLE_RETENTION_INTERVALS": ["1m", "2m"]}),
    ("SYNC_RUN_RETENTION_DAYS", {"SYNC_RUN_RETENTION_DAYS": 0}),
    ("REPLAY_STEP_SECONDS", {"REPLAY_STEP_SECONDS": 0}),
    ("THROTTLE_RATE_ANON", {"REST_FRAMEWORK": throttle(anon="600 per minute")}),
    ("THROTTLE_RATE_USER", {"REST_FRAMEWORK": throttle(user="3000/fortnight")}),
    ("THROTTLE_RATE_LOGIN", {"REST_FRAMEWORK": throttle(login="")}),
    ("API_CACHE_TTL", {"API_CACHE_TTL": -1}),
    ("API_CACHE_HELD_BYTES", {"API_CACHE_HELD_BYTES": -1}),
    ("LOG_LEVEL", {"LOG_LEVEL": "VERBOSE"}),
    ("QUOTE_CURRENCY", {"QUOTE_CURRENCY": "usd"}),
    ("HTTP_THREADS", {"HTTP_THREADS": 0}),
    ("WS_MAX_CONNECTIONS_PER_IP", {"WS_MAX_CONNECTIONS_PER_IP": 0}),
    ("WS_CONNECTION_LEASE_SECONDS", {"WS_CONNECTION_LEASE_SECONDS": 1}),
    ("WS_SEND_QUEUE", {"WS_SEND_QUEUE": 0}),
    ("WS_MAX_MESSAGE_CHARS", {"WS_MAX_MESSAGE_CHARS": 10}),
    ("WS_REPLAY_DEFAULT_SPEED", {"WS_REPLAY_DEFAULT_SPEED": 10**9}),
    ("WS_REPLAY_PAGE", {"WS_REPLAY_PAGE": 0}),
    ("WS_REPLAYS_PER_IP", {"WS_REPLAYS_PER_IP": 0}),
    ("WS_REPLAYS_PER_PROCESS", {"WS_REPLAYS_PER_PROCESS": 0}),
    ("WS_REPLAY_STALL_SECONDS", {"WS_REPLAY_STALL_SECONDS": 0}),
    ("WS_MESSAGE_RATE", {"WS_MESSAGE_RATE": 0}),
    ("WS_MESSAGE_BURST", {"WS_MESSAGE_BURST": 0}),
    ("WS_DB_THREADS", {"WS_DB_THREADS": 0}),
    ("IDEMPOTENCY_TTL_HOURS", {"IDEMPOTENCY_TTL_HOURS": 0}),
    ("HISTORY_MAX_AGGREGATED_ROWS", {"HISTORY_MAX_AGGREGATED_ROWS": 10}),
    ("ANOMALY_WINDOWS", {"ANOMALY_WINDOWS": ["1h", "fortnight"]}),
    ("ANOMALY_Z_RETURN", {"ANOMALY_Z_RETURN": 0}),
    ("ANOMALY_MAX_SAMPLES", {"ANOMALY_MAX_SAMPLES": 3}),
    ("ANOMALY_DISAGREEMENT_PCT", {"ANOMALY_DISAGREEMENT_PCT": -1}),
    ("FORWARDED_ALLOW_IPS", {"FORWARDED_ALLOW_IPS": ["10.0.0.1", "proxy.local"]}),
    (
        "JWT_ACCESS_MINUTES",
        {"SIMPLE_JWT": {**settings.SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(0)}},
    ),
]


@pytest.mark.parametrize(("variable", "overrides"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_is_an_error_naming_its_variable(variable, overrides, settings):
    for name, value in overrides.items():
        setattr(settings, name, value)
    found = errors_now()
    assert len(found) == 1, found
    assert found[0].startswith(f"{variable}=")


def test_a_bad_value_stops_the_process_at_start():
    """From the environment, as deployed: `manage.py check` (run before every start)
    exits non-zero naming the variable."""
    result = run_manage("check", MARKET_PROVIDERS="replay,coingeko")
    assert result.returncode != 0
    assert "MARKET_PROVIDERS=['replay', 'coingeko']" in result.stderr


# --- SECRET_KEY (issue 12, item 1): it signs the JWTs.

WEAK_KEYS = [
    "change-me-in-production-this-is-not-secret",  # compose's old default
    "lint-only-placeholder-not-a-secret-0123456789abcdef",  # the Makefile's
    "short-but-random-Zq8v",
    "a" * 80,
    "django-insecure-" + "x1y2z3" * 10,
]


def secret_key_errors() -> list[str]:
    return [m.msg for m in run_checks(tags=["security"]) if m.id == "marketpulse.E100"]


@pytest.mark.parametrize("key", WEAK_KEYS)
def test_a_short_or_published_secret_key_is_an_error(key, settings):
    settings.SECRET_KEY = key
    found = secret_key_errors()
    assert len(found) == 1
    assert found[0].startswith("SECRET_KEY ")
    assert key not in found[0]  # never echoed into logs


def test_debug_lets_a_weak_key_through(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "dev"
    assert secret_key_errors() == []


def test_the_key_make_run_generates_passes(tmp_path, settings):
    from marketpulse.embedded import secret_key

    settings.SECRET_KEY = secret_key(tmp_path)
    assert secret_key_errors() == []


def test_manage_and_the_web_process_refuse_to_start_with_a_weak_key():
    weak = "change-me-in-production-this-is-not-secret"
    result = run_manage("check", SECRET_KEY=weak, DEBUG="false")
    assert result.returncode != 0
    assert "marketpulse.E100" in result.stderr
    # uvicorn imports the ASGI application and runs no checks: the import refuses.
    served = subprocess.run(
        [sys.executable, "-c", "import marketpulse.asgi"],
        cwd=BASE_DIR,
        env={**os.environ, "SECRET_KEY": weak, "DEBUG": "false"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode != 0
    assert "SECRET_KEY is a published value" in served.stderr
    assert weak not in served.stderr


def test_compose_has_no_default_secret_key():
    import yaml

    compose = (BASE_DIR / "docker-compose.yml").read_text()
    environment = yaml.safe_load(compose)["x-app"]["environment"]
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "SECRET_KEY:-" not in compose
