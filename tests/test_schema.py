"""The OpenAPI schema: valid without warnings, and the running app keeps to it.

The property-based run (schemathesis) sends generated requests, valid and invalid, to the
real server over HTTP and checks every answer: no 5xx, documented status codes, content
types, headers and bodies that match the schema. Bounded by examples per operation.
"""

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from prices.latest import record_latest_prices
from tests import servers
from tests.factories import AssetFactory
from tests.prices.history import load_demo

BIN = servers.BIN


def test_the_schema_validates_without_warnings(tmp_path: Path, db):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "s.yaml"),
    )
    assert "/api/v1/prices/{symbol}/candles/" in (tmp_path / "s.yaml").read_text()


@pytest.mark.slow
def test_generated_requests_against_the_running_app_find_no_error(server_env, tmp_path):
    btc = AssetFactory(symbol="BTC", name="Bitcoin", rank=1, market_cap=1e12)
    eth = AssetFactory(symbol="ETH", name="Ethereum", rank=2)
    load_demo(btc, "binance_2018-06_BTC-USDT_1m.csv.gz", "coinbase_BTC-USD_1d.csv.gz")
    load_demo(eth, "binance_2018-06_ETH-USDT_1h.csv.gz")
    record_latest_prices([(btc, 64000.0, datetime.now(UTC), "binance")])
    # Rate limits are not what this tests; access lines would drown its report.
    env = {
        **server_env,
        "THROTTLE_RATE_ANON": "1000000/min",
        "THROTTLE_RATE_LOGIN": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    with servers.asgi_server(env, workers=1) as base:
        result = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"{base}/api/schema/",
                "--url",
                base,
                "--checks",
                "all",
                "--max-examples",
                "40",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "1",
                "--request-timeout",
                "10",
                "--generation-database",
                "none",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                "PYTHONPATH": str(servers.BASE_DIR),
            },
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
