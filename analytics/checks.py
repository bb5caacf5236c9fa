"""System checks for the analytics settings (see `marketpulse/checks.py`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, register

from analytics.anomalies import WINDOWS
from marketpulse.checks import at_least, between, check_values


def _windows(value: Any) -> str | None:
    unknown = [w for w in value if w not in WINDOWS]
    if not value or unknown:
        return f"must be some of {', '.join(WINDOWS)}"
    return None


@register("settings")
def check_analytics_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    return check_values(
        [
            ("ANOMALY_WINDOWS", list(settings.ANOMALY_WINDOWS), _windows),
            ("ANOMALY_MIN_SAMPLES", settings.ANOMALY_MIN_SAMPLES, between(5, 100_000)),
            (
                "ANOMALY_MAX_SAMPLES",
                settings.ANOMALY_MAX_SAMPLES,
                between(settings.ANOMALY_MIN_SAMPLES, 1_000_000),
            ),
            ("ANOMALY_Z_RETURN", settings.ANOMALY_Z_RETURN, between(1, 1000)),
            ("ANOMALY_Z_INTRADAY", settings.ANOMALY_Z_INTRADAY, between(1, 1000)),
            ("ANOMALY_Z_VOLUME", settings.ANOMALY_Z_VOLUME, between(1, 1000)),
            ("ANOMALY_MIN_SIGMA", settings.ANOMALY_MIN_SIGMA, between(0, 1)),
            (
                "ANOMALY_DISAGREEMENT_PCT",
                settings.ANOMALY_DISAGREEMENT_PCT,
                between(0.01, 100),
            ),
            (
                "ANOMALY_DISAGREEMENT_MAX_AGE",
                settings.ANOMALY_DISAGREEMENT_MAX_AGE,
                at_least(1),
            ),
            ("ANOMALY_PUBLISH_MAX_AGE", settings.ANOMALY_PUBLISH_MAX_AGE, at_least(0)),
        ],
        prefix="analytics",
    )
