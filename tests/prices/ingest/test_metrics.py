"""Provider request metrics, counted by the one HTTP client against a local server."""

import pytest
from prometheus_client import REGISTRY

from prices.ingest.providers import ProviderUnavailable, get_provider
from tests.prices.ingest.provider_server import Answer, payload
from tests.prices.ingest.test_providers import MARKETS, RECORDED_MARKETS


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_500_then_success_counts_both_attempts_one_retry_and_no_error(
    providers_http,
):
    before = {
        "500": value("marketpulse_provider_responses_total",
                     provider="coingecko", status="500"),
        "200": value("marketpulse_provider_responses_total",
                     provider="coingecko", status="200"),
        "retries": value("marketpulse_provider_retries_total", provider="coingecko"),
        "seconds": value("marketpulse_provider_request_seconds_count",
                         provider="coingecko"),
    }  # fmt: skip
    providers_http.script(
        MARKETS, Answer(500, b"oops"), Answer(body=payload(RECORDED_MARKETS))
    )
    get_provider("coingecko").listings(limit=15)
    assert value("marketpulse_provider_responses_total",
                 provider="coingecko", status="500") == before["500"] + 1  # fmt: skip
    assert value("marketpulse_provider_responses_total",
                 provider="coingecko", status="200") == before["200"] + 1  # fmt: skip
    assert value("marketpulse_provider_retries_total", provider="coingecko") == (
        before["retries"] + 1
    )
    assert value(
        "marketpulse_provider_request_seconds_count", provider="coingecko"
    ) == (before["seconds"] + 2)


def test_giving_up_counts_an_error_with_the_last_status(providers_http, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 2
    before = value("marketpulse_provider_errors_total",
                   provider="coingecko", status="503")  # fmt: skip
    providers_http.script(MARKETS, Answer(503, b"down"))
    with pytest.raises(ProviderUnavailable):
        get_provider("coingecko").listings(limit=5)
    assert value("marketpulse_provider_errors_total",
                 provider="coingecko", status="503") == before + 1  # fmt: skip
