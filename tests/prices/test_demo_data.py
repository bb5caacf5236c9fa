import csv

import pytest
from django.core.management import call_command
from django.db.models import Count

from prices.models import Candle
from tests.prices.demo import DEMO_DIR

pytestmark = pytest.mark.django_db


def test_demo_data_loads_every_file_once_and_a_rerun_changes_nothing(capsys):
    with open(DEMO_DIR / "manifest.csv") as handle:
        manifest = list(csv.DictReader(handle))
    expected = {(e["symbol"], e["interval"]): int(e["rows"]) for e in manifest}

    call_command("load_demo_data")
    first = capsys.readouterr().out
    counts = {
        (row["asset__symbol"], row["interval"]): row["n"]
        for row in Candle.objects.values("asset__symbol", "interval").annotate(
            n=Count("id")
        )
    }
    assert counts == expected
    assert f"{sum(expected.values())} inserted" in first

    call_command("load_demo_data")
    second = capsys.readouterr().out
    assert "0 inserted, 0 updated, 0 rejected" in second
    assert Candle.objects.count() == sum(expected.values())


def test_demo_data_has_months_of_hourly_and_some_minute_candles():
    with open(DEMO_DIR / "manifest.csv") as handle:
        manifest = list(csv.DictReader(handle))
    hourly = [e for e in manifest if e["interval"] == "1h" and int(e["rows"]) > 24 * 60]
    minutes = {e["symbol"] for e in manifest if e["interval"] == "1m"}
    assert hourly
    assert len(minutes) >= 3
    assert all(
        e["licence"] and e["source_repo"] and e["source_commit"] for e in manifest
    )
