"""Helpers for the history tests: load real demo files, walk every page of the API."""

import csv
from pathlib import Path

import pytest
from rest_framework.throttling import SimpleRateThrottle

from assets.models import Asset
from prices.importing import import_candle_file
from tests.prices.demo import DEMO_DIR

URL = "/api/v1/prices/{symbol}/candles/"


def load_demo(asset: Asset, *files: str) -> None:
    with open(DEMO_DIR / "manifest.csv", newline="") as handle:
        entries = {e["file"]: e for e in csv.DictReader(handle)}
    for name in files:
        entry = entries[name]
        import_candle_file(
            path=Path(DEMO_DIR) / name,
            asset=asset,
            interval=entry["interval"],
            source=entry["venue"],
        )


def walk(client, symbol: str, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every candle of every page, following `next` until it is null."""
    url: str | None = URL.format(symbol=symbol)
    query: dict | None = params
    candles: list[dict] = []
    while url:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        body = response.json()
        candles += body["results"]
        url, query = body["next"], None
    return candles


@pytest.fixture
def unthrottled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Walking thousands of pages is not what the rate limit tests are about."""
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "1000000/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "1000000/min")
