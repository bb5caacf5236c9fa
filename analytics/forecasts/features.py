"""Features of the gradient-boosting family: lagged returns and indicators, causal.

Each row t uses slots 0..t only. For the indicators (TA-Lib) a missing close is carried
forward from the last known one, which uses nothing later; targets are never filled.
"""

import numpy as np
import pandas as pd
import talib

from analytics.forecasts.series import Series

LAGS = 6

FEATURES = [
    *(f"ret_lag{k}" for k in range(LAGS)),  # one-candle log returns, newest first
    "ret_horizon",  # log return over the last `steps` candles
    "ret_24",  # log return over the last 24 candles
    "vol_24",  # std of one-candle log returns over the last 24
    "rsi_14",
    "sma_20_gap",  # log(close / SMA 20)
    "range",  # log(high / low) of the last candle
    "volume_z",  # log volume against its 24-candle mean and std
    "hour",  # of the close, UTC (0 for daily candles)
    "weekday",
]


def feature_matrix(series: Series, steps: int) -> np.ndarray:
    """One row per slot, columns as FEATURES; NaN where a feature is undefined
    (the gradient-boosting model reads NaN as missing)."""
    close = pd.Series(series.close).ffill().to_numpy()
    log_close = np.log(close)
    ret = np.diff(log_close, prepend=np.nan)
    ret_s = pd.Series(ret)
    columns: list[np.ndarray] = [ret_s.shift(k).to_numpy() for k in range(LAGS)]
    columns.append(log_close - pd.Series(log_close).shift(steps).to_numpy())
    columns.append(log_close - pd.Series(log_close).shift(24).to_numpy())
    columns.append(ret_s.rolling(24, min_periods=12).std().to_numpy())
    known = ~np.isnan(close)
    rsi = np.full(len(close), np.nan)
    sma = np.full(len(close), np.nan)
    if known.sum() > 20:
        first = int(np.argmax(known))
        rsi[first:] = talib.RSI(close[first:], timeperiod=14)
        sma[first:] = talib.SMA(close[first:], timeperiod=20)
    columns.append(rsi)
    columns.append(log_close - np.log(sma))
    columns.append(np.log(series.high / series.low))
    log_volume = pd.Series(np.log1p(series.volume))
    mean = log_volume.rolling(24, min_periods=12).mean()
    std = log_volume.rolling(24, min_periods=12).std()
    # A volume that does not vary is not unusual: 0, not NaN (a column that is all
    # NaN cannot be binned by the gradient boosting).
    z = ((log_volume - mean) / std.replace(0, np.nan)).to_numpy()
    columns.append(np.where((std == 0).to_numpy(), 0.0, z))
    times = pd.to_datetime(series.close_times, unit="s", utc=True)
    columns.append(np.asarray(times.hour, dtype=np.float64))
    columns.append(np.asarray(times.day_of_week, dtype=np.float64))
    return np.column_stack(columns)
