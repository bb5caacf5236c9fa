"""Technical indicators over stored candles, computed by TA-Lib (VWAP by us).

Rules, stated once:

- **Candles**: the exact candles the history API serves for the interval (stored, or
  aggregated exactly from a finer stored interval), read through `prices.selectors`.
- **Warm-up**: each indicator is computed on its own window: the candles of [start, end)
  preceded by `warmup` earlier candles. `warmup` = TA-Lib's lookback for the parameters
  (candles before the first value) plus, for recursive indicators (EMA/Wilder smoothing,
  adaptive averages, SAR, Hilbert transforms: TA-Lib's "unstable period" and those built
  on them), `CONVERGENCE` x their longest period (`RECURSIVE_BASE` when they have none):
  a seed's weight decays at least like (1 - 1/n)^k, so after 30n candles it is below
  e^-30 ~ 1e-13 and values from `start` equal a computation over the whole history to
  well within 1e-6 relative (measured for every catalogue function on the demo candles,
  tests/analytics/test_indicator_catalogue.py). Each indicator's window is its own, so its
  values do not depend on what else was asked for.
- **Too little history**: when fewer than `lookback` candles precede `start`, the leading
  rows are null and `warmup.<name>.null_rows` / `reason` say how many and why. When the
  stored history starts within the convergence margin, the values are those of a
  computation over the whole stored history (the first stored candle seeds them).
- **Cumulative indicators** (OBV, A/D line, NVI, PVI, PVT, WAD, CUMSUM, VWAP) never forget
  their origin; they are anchored at the range start (first row as TA-Lib starts them).
- **Gaps**: a missing candle is not invented; indicators run over the candles that exist,
  so periods count candles, and the candle after a gap follows the one before it. The
  response lists the gaps of the range.
- Index functions (MAXINDEX, MININDEX, MINMAXINDEX) answer the open time of the candle.
- **Instances**: `sma:slow` is another instance of `sma`, with parameters and warm-up
  of its own; the response names its outputs `sma:slow` (`bb_upper:wide` for bbands).
"""

from analytics.indicators.calls import (
    CONVERGENCE,
    CUMULATIVE,
    INDEX_OUTPUTS,
    MAX_INDICATORS,
    MAX_ROWS,
    MAX_WARMUP,
    RECURSIVE_BASE,
    Call,
    catalogue_body,
    parse_calls,
)
from analytics.indicators.compute import (
    Computed,
    Window,
    indicator_columns,
    make_window,
    response_body,
    ttl_for,
)

__all__ = [
    "CONVERGENCE",
    "CUMULATIVE",
    "INDEX_OUTPUTS",
    "MAX_INDICATORS",
    "MAX_ROWS",
    "MAX_WARMUP",
    "RECURSIVE_BASE",
    "Call",
    "Computed",
    "Window",
    "catalogue_body",
    "indicator_columns",
    "make_window",
    "parse_calls",
    "response_body",
    "ttl_for",
]
