"""System checks for the ingest settings (see `marketpulse/checks.py`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, register

from marketpulse.checks import at_least, between, check_values, one_of
from prices.ingest.providers import NAMES
from prices.intervals import Interval

COINGECKO_PLANS = ("demo", "pro")


def _providers(value: Any) -> str | None:
    if not value:
        return "must name at least one provider"
    unknown = [name for name in value if name not in NAMES]
    if unknown:
        return f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(NAMES)}"
    if len(set(value)) != len(value):
        return "names a provider twice"
    return None


def _intervals(value: Any) -> str | None:
    unknown = [i for i in value if i not in Interval.values]
    return f"unknown intervals {', '.join(unknown)}" if unknown else None


@register("settings")
def check_ingest_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return check_values(
        [
            ("MARKET_PROVIDERS", list(settings.MARKET_PROVIDERS), _providers),
            (
                "COINGECKO_API_PLAN",
                settings.COINGECKO_API_PLAN,
                one_of(COINGECKO_PLANS),
            ),
            (
                "COINGECKO_RATE_PER_MINUTE",
                settings.COINGECKO_RATE_PER_MINUTE,
                between(0.1, 100_000),
            ),
            (
                "COINMARKETCAP_RATE_PER_MINUTE",
                settings.COINMARKETCAP_RATE_PER_MINUTE,
                between(0.1, 100_000),
            ),
            (
                "BINANCE_RATE_PER_MINUTE",
                settings.BINANCE_RATE_PER_MINUTE,
                between(0.1, 100_000),
            ),
            (
                "PROVIDER_CONNECT_TIMEOUT",
                settings.PROVIDER_CONNECT_TIMEOUT,
                between(0.1, 300),
            ),
            (
                "PROVIDER_READ_TIMEOUT",
                settings.PROVIDER_READ_TIMEOUT,
                between(0.1, 300),
            ),
            ("PROVIDER_MAX_ATTEMPTS", settings.PROVIDER_MAX_ATTEMPTS, between(1, 20)),
            (
                "PROVIDER_BACKOFF_SECONDS",
                settings.PROVIDER_BACKOFF_SECONDS,
                between(0, 600),
            ),
            (
                "PROVIDER_MAX_BACKOFF_SECONDS",
                settings.PROVIDER_MAX_BACKOFF_SECONDS,
                between(0, 3600),
            ),
            (
                "PROVIDER_MAX_RETRY_AFTER",
                settings.PROVIDER_MAX_RETRY_AFTER,
                between(0, 3600),
            ),
            ("REPLAY_STEP_SECONDS", settings.REPLAY_STEP_SECONDS, between(1, 86_400)),
            (
                "CANDLE_RETENTION_DAYS",
                settings.CANDLE_RETENTION_DAYS,
                between(0, 36_500),
            ),
            (
                "CANDLE_RETENTION_INTERVALS",
                list(settings.CANDLE_RETENTION_INTERVALS),
                _intervals,
            ),
            ("SYNC_RUN_RETENTION_DAYS", settings.SYNC_RUN_RETENTION_DAYS, at_least(1)),
        ],
        prefix="prices_ingest",
    )
