"""Settings limited to a known set or range fail at start (system checks), naming the
variable, rather than at first use."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.checks import run_checks

from tests.marketpulse.test_settings import run_manage


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
