"""Walk-forward evaluation: at each origin, fit on the slots closed by then, forecast
`steps` candles ahead, and compare with the close that came.

Fits happen at the first origin and every `refit_every` origins after it; in between, a
forecast uses the latest fit (made on even fewer candles) with the candles up to its own
origin. Intervals of families without their own are split-conformal: the quantiles of
the absolute log residuals of earlier origins whose targets had closed by this origin.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from analytics.forecasts.families import LEVELS, Family, FitError, single_threaded
from analytics.forecasts.series import Series

Bounds = dict[str, tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Row:
    origin: int  # epoch seconds: close time of the last candle seen
    target: int  # epoch seconds: close time of the candle forecast
    last_close: float  # the naive forecast
    price: float
    intervals: Bounds | None  # per level; None while too few residuals are known
    actual: float | None  # None: no candle closes at the target


@dataclass(slots=True)
class Backtest:
    family: str
    step: int  # candles between origins
    refit_every: int  # origins between fits
    rows: list[Row] = field(default_factory=list)
    fits: int = 0
    # Conformal quantiles of the latest residuals, for live forecasts after the data.
    conformal: dict[str, float] = field(default_factory=dict)
    problem: str | None = None  # why the family produced nothing


def origin_ends(
    *, size: int, steps: int, count: int, step: int, first: int
) -> list[int]:
    """Exclusive slot ends of up to `count` origins, `step` apart, the last one the
    latest whose target is inside the data; none before `first` slots are visible."""
    ends = [size - steps - k * step for k in range(count)]
    return sorted(end for end in ends if end >= first)


def conformal_quantile(
    residuals: list[float], level: float, minimum: int
) -> float | None:
    """The split-conformal quantile of |residual| (finite-sample rank ceil((n+1)·level))."""
    n = len(residuals)
    rank = math.ceil((n + 1) * level)
    if n < minimum or rank > n:
        return None
    return float(np.sort(np.abs(residuals))[rank - 1])


def walk_forward(
    *,
    series: Series,
    family: Family,
    steps: int,
    ends: list[int],
    step: int,
    refit_every: int,
    conformal_window: int,
    conformal_minimum: int,
) -> Backtest:
    with single_threaded():
        return _walk_forward(
            series, family, steps, ends, step, refit_every, conformal_window,
            conformal_minimum,
        )  # fmt: skip


def _walk_forward(
    series: Series,
    family: Family,
    steps: int,
    ends: list[int],
    step: int,
    refit_every: int,
    conformal_window: int,
    conformal_minimum: int,
) -> Backtest:
    result = Backtest(family=family.name, step=step, refit_every=refit_every)
    fitted = None
    known: list[tuple[int, float]] = []  # (target time, log residual), in target order
    for n, end in enumerate(ends):
        visible = series.until(end)
        last = float(visible.close[-1])
        if math.isnan(last):
            continue
        if fitted is None or n % refit_every == 0:
            try:
                fitted = family.fit(visible, steps)
                result.fits += 1
            except FitError as exc:
                result.problem = str(exc)
                if fitted is None:
                    continue
        forecast = family.forecast(fitted, visible, steps)
        if math.isnan(forecast.log_return):
            continue
        origin = int(visible.close_times[-1])
        target = origin + steps * series.step_seconds
        price = last * math.exp(forecast.log_return)
        bounds: Bounds | None
        if forecast.intervals is not None:
            bounds = {
                name: (last * math.exp(lo), last * math.exp(hi))
                for name, (lo, hi) in forecast.intervals.items()
            }
        else:
            residuals = [r for t, r in known if t <= origin][-conformal_window:]
            bounds = _conformal_bounds(price, residuals, conformal_minimum)
        # The actual is read from the full series, for scoring only, after the forecast.
        after = float(series.close[end - 1 + steps])
        actual = None if math.isnan(after) else after
        result.rows.append(Row(origin, target, last, price, bounds, actual))
        if actual is not None:
            known.append((target, math.log(actual) - math.log(price)))
    if result.rows:
        result.problem = None
    recent = [r for _, r in known][-conformal_window:]
    for name, level in LEVELS.items():
        q = conformal_quantile(recent, level, conformal_minimum)
        if q is not None:
            result.conformal[name] = q
    return result


def _conformal_bounds(
    price: float, residuals: list[float], minimum: int
) -> Bounds | None:
    bounds: Bounds = {}
    for name, level in LEVELS.items():
        q = conformal_quantile(residuals, level, minimum)
        if q is None:
            return None
        bounds[name] = (price * math.exp(-q), price * math.exp(q))
    return bounds
