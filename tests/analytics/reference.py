"""Independent indicator definitions (pandas/numpy), written from the textbook formulas,
not from TA-Lib: what the endpoint is checked against.

Seeds follow the usual convention (first average = simple mean of the first n values);
the endpoint's values are compared well past the seed, where the seed no longer matters.
"""

import numpy as np
import pandas as pd


def sma(close: pd.Series, n: int) -> pd.Series:
    return close.rolling(n).mean()


def ema(close: pd.Series, n: int, seed_at: int | None = None) -> pd.Series:
    """Seeded at `seed_at` (default n - 1) with the mean of the n closes ending there."""
    alpha = 2 / (n + 1)
    out = np.full(len(close), np.nan)
    values = close.to_numpy()
    first = n - 1 if seed_at is None else seed_at
    out[first] = values[first - n + 1 : first + 1].mean()
    for i in range(first + 1, len(values)):
        out[i] = alpha * values[i] + (1 - alpha) * out[i - 1]
    return pd.Series(out, index=close.index)


def wilder(values: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder's smoothing: mean of values[first:first+n], then (prev*(n-1) + x) / n."""
    out = np.full(len(values), np.nan)
    out[first + n - 1] = values[first : first + n].mean()
    for i in range(first + n, len(values)):
        out[i] = (out[i - 1] * (n - 1) + values[i]) / n
    return out


def rsi(close: pd.Series, n: int) -> pd.Series:
    change = close.diff().to_numpy()
    gain = np.where(change > 0, change, 0.0)
    loss = np.where(change < 0, -change, 0.0)
    up, down = wilder(gain, n, 1), wilder(loss, n, 1)
    return pd.Series(100 * up / (up + down), index=close.index)


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> pd.DataFrame:
    """Both averages start together, where the slow one has its first value (so the
    fast one is seeded by the mean of the `fast` closes ending there, as TA-Lib does)."""
    line = ema(close, fast, seed_at=slow - 1) - ema(close, slow)
    start = line.first_valid_index()
    signal_line = pd.Series(np.nan, index=close.index)
    signal_line[line.index >= start] = ema(line[line.index >= start], signal)
    return pd.DataFrame(
        {"macd": line, "macd_signal": signal_line, "macd_hist": line - signal_line}
    )


def bollinger(close: pd.Series, n: int, k: float) -> pd.DataFrame:
    middle = close.rolling(n).mean()
    sigma = close.rolling(n).std(ddof=0)  # population standard deviation
    return pd.DataFrame(
        {
            "bb_upper": middle + k * sigma,
            "bb_middle": middle,
            "bb_lower": middle - k * sigma,
        }
    )


def atr(frame: pd.DataFrame, n: int) -> pd.Series:
    previous = frame["close"].shift()
    true_range = pd.concat(
        [
            frame["high"] - frame["low"],
            (frame["high"] - previous).abs(),
            (frame["low"] - previous).abs(),
        ],
        axis=1,
    ).max(axis=1, skipna=False)
    return pd.Series(wilder(true_range.to_numpy(), n, 1), index=frame.index)


def obv(frame: pd.DataFrame) -> pd.Series:
    """Starts at the first candle's volume (the first row of the range)."""
    direction = np.sign(frame["close"].diff().fillna(0)).to_numpy()
    signed = direction * frame["volume"].to_numpy()
    signed[0] = frame["volume"].iloc[0]
    return pd.Series(np.cumsum(signed), index=frame.index)


def vwap(frame: pd.DataFrame) -> pd.Series:
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    return (typical * frame["volume"]).cumsum() / frame["volume"].cumsum()
