"""Forecasts that say how good they are: model families, walk-forward backtests with
calibrated intervals, stored predictions scored against what happened (issue 15).

Pure numerical modules (`series`, `features`, `families`, `walkforward`, `metrics`)
import no Django; `services` (writes), `selectors` (reads), `tasks`, `views` are the
edges. Prices are read through `prices.selectors` only, always with an upper bound.
"""
