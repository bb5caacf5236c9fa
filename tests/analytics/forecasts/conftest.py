"""Forecast fixtures: real demo candles through the real import path, smaller backtests
(fewer origins and fits than the defaults, the same code), and the independent reading
of the same demo files the figures are checked against."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from analytics.forecasts import services
from analytics.forecasts.horizons import HORIZONS
from tests.factories import AssetFactory
from tests.prices.demo import DEMO_DIR
from tests.prices.history import load_demo

ETH_1H = "binance_2018-06_ETH-USDT_1h.csv.gz"  # 1,000 candles, 2018-05-08 .. 06-18
BTC_1D = "coinbase_BTC-USD_1d.csv.gz"  # 1,770 candles with a 12-day hole
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def quick(settings):  # type: ignore[no-untyped-def]
    settings.FORECAST_BACKTEST_ORIGINS = 60
    settings.FORECAST_BACKTEST_FITS = 3
    settings.FORECAST_GBM_ROWS = 600
    settings.FORECAST_MIN_HISTORY = 300
    services._fitted.cache_clear()
    return settings


@pytest.fixture
def eth_hourly(db):  # type: ignore[no-untyped-def]
    eth = AssetFactory(symbol="ETH", name="Ethereum")
    load_demo(eth, ETH_1H)
    return eth


@pytest.fixture
def btc_daily(db):  # type: ignore[no-untyped-def]
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    load_demo(btc, BTC_1D)
    return btc


def demo_closes(name: str) -> pd.Series:
    """Closes by close time, read straight from the demo file (not through the app)."""
    frame = pd.read_csv(DEMO_DIR / name, parse_dates=["timestamp"])
    step = pd.Timedelta("1h") if "_1h" in name else pd.Timedelta("1D")
    frame = frame.drop_duplicates("timestamp").sort_values("timestamp")
    return pd.Series(
        frame["close"].to_numpy(), index=frame["timestamp"] + step, name="close"
    )


def train(asset, horizon: str, until: datetime = NOW) -> dict:  # type: ignore[no-untyped-def]
    return services.train_pair(asset=asset, horizon=HORIZONS[horizon], until=until)
