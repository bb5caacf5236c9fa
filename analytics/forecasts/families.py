"""The model families, each a fit and a forecast of the log return `steps` candles ahead.

Every call gets only the slots a forecast at the close of the last one may see
(`Series.until`), so no family can read past its origin. Fitted states are plain
picklable objects (the stored artefact); `describe` is their JSON summary.
"""

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import sklearn
import statsmodels
from sklearn.ensemble import HistGradientBoostingRegressor
from statsmodels.tsa.arima.model import ARIMA
from threadpoolctl import ThreadpoolController

from analytics.forecasts.features import FEATURES, feature_matrix
from analytics.forecasts.series import Series

LEVELS = {"80": 0.80, "95": 0.95}


@functools.cache
def _controller() -> ThreadpoolController:
    # Found once per process (the BLAS and OpenMP libraries are loaded by the imports
    # above): `threadpool_limits()` looks them up on every call, 6 ms a prediction.
    return ThreadpoolController()


def single_threaded() -> Any:
    """One thread for BLAS and OpenMP inside the block: on 2 shared cores,
    oversubscribed fits ran ~10x slower."""
    return _controller().limit(limits=1)


class FitError(Exception):
    """The family cannot be fitted on these candles (too few, or a numerical failure)."""


@dataclass(frozen=True, slots=True)
class Forecast:
    log_return: float  # predicted log(close at target / close at origin); NaN: none
    # Log-return bounds per level, when the model states its own intervals.
    intervals: dict[str, tuple[float, float]] | None = None


class Family(Protocol):
    name: str
    model_intervals: bool  # True: intervals from the model, else split-conformal
    features: list[str]

    def fit(self, series: Series, steps: int) -> Any: ...

    def forecast(self, fitted: Any, series: Series, steps: int) -> Forecast: ...

    def describe(self, fitted: Any) -> dict[str, Any]: ...


def _log_close(series: Series) -> np.ndarray:
    return np.log(series.close)


class Naive:
    """The last close: "the price stays the same". Every other family is judged by it."""

    name = "naive"
    model_intervals = False
    features = ["close"]

    def fit(self, series: Series, steps: int) -> dict[str, Any]:
        return {}

    def forecast(self, fitted: Any, series: Series, steps: int) -> Forecast:
        return Forecast(0.0)

    def describe(self, fitted: Any) -> dict[str, Any]:
        return {}


class Drift:
    """The last close moved on by the average log return of the fitting window."""

    name = "drift"
    model_intervals = False
    features = ["close"]

    def __init__(self, window: int) -> None:
        self.window = window

    def fit(self, series: Series, steps: int) -> dict[str, Any]:
        log_close = _log_close(series)[-self.window :]
        known = np.flatnonzero(~np.isnan(log_close))
        if len(known) < 2:
            raise FitError("fewer than two closes")
        first, last = known[0], known[-1]
        slope = (log_close[last] - log_close[first]) / float(last - first)
        return {"drift_per_candle": float(slope), "window": self.window}

    def forecast(self, fitted: Any, series: Series, steps: int) -> Forecast:
        return Forecast(steps * fitted["drift_per_candle"])

    def describe(self, fitted: Any) -> dict[str, Any]:
        return dict(fitted)


class SeasonalNaive:
    """The close one season before the target (the latest such one at or before the
    origin); NaN when that candle is missing."""

    name = "seasonal_naive"
    model_intervals = False
    features = ["close"]

    def __init__(self, season: int) -> None:
        self.season = season

    def fit(self, series: Series, steps: int) -> dict[str, Any]:
        return {"season": self.season}

    def forecast(self, fitted: Any, series: Series, steps: int) -> Forecast:
        back = self.season * math.ceil(steps / self.season) - steps
        if back >= len(series):
            return Forecast(math.nan)
        log_close = _log_close(series)
        return Forecast(float(log_close[-1 - back] - log_close[-1]))

    def describe(self, fitted: Any) -> dict[str, Any]:
        return dict(fitted)


@dataclass(frozen=True, slots=True)
class ArimaFit:
    order: tuple[int, int, int]
    params: np.ndarray
    window: int


class Arima:
    """ARIMA on log closes (statsmodels), fitted on a rolling window; forecasts filter
    the latest FILTER candles with the fitted parameters (the filter forgets its start
    within a few dozen: on BTC hourly, 200 gave the very forecast 500 did, ~40% faster
    per prediction). Intervals are the model's own."""

    FILTER = 200
    name = "arima"
    model_intervals = True
    features = ["log close"]

    def __init__(self, window: int, order: tuple[int, int, int] = (1, 1, 1)) -> None:
        self.window = window
        self.order = order

    def fit(self, series: Series, steps: int) -> ArimaFit:
        log_close = _log_close(series)[-self.window :]
        if np.count_nonzero(~np.isnan(log_close)) < 50:
            raise FitError("fewer than 50 closes in the window")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; the backtest judges
            try:
                result = ARIMA(log_close, order=self.order).fit()
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise FitError(str(exc)) from exc
        return ArimaFit(self.order, np.asarray(result.params), self.window)

    def forecast(self, fitted: ArimaFit, series: Series, steps: int) -> Forecast:
        log_close = _log_close(series)[-min(fitted.window, self.FILTER) :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ARIMA(log_close, order=fitted.order).filter(fitted.params)
            prediction = result.get_forecast(steps)
            mean = float(np.asarray(prediction.predicted_mean)[-1])
            bounds = {
                name: tuple(
                    float(b) - log_close[-1]
                    for b in np.asarray(prediction.conf_int(alpha=1 - level))[-1]
                )
                for name, level in LEVELS.items()
            }
        return Forecast(mean - float(log_close[-1]), bounds)

    def describe(self, fitted: ArimaFit) -> dict[str, Any]:
        return {
            "order": list(fitted.order),
            "params": [float(p) for p in fitted.params],
            "window": fitted.window,
            "filter": min(fitted.window, self.FILTER),
        }


class GradientBoosting:
    """scikit-learn's histogram gradient boosting on lagged returns and indicators,
    predicting the horizon's log return. Trained on rows whose target has closed."""

    name = "gbm"
    model_intervals = False
    features = FEATURES
    PARAMS = {
        "max_iter": 150,
        "learning_rate": 0.05,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": 0,
    }

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows

    def fit(self, series: Series, steps: int) -> HistGradientBoostingRegressor:
        x = feature_matrix(series, steps)
        log_close = _log_close(series)
        target = np.full(len(series), np.nan)
        target[:-steps] = log_close[steps:] - log_close[:-steps]
        rows = np.flatnonzero(~np.isnan(target))[-self.max_rows :]
        if len(rows) < 100:
            raise FitError(f"{len(rows)} training rows; at least 100 are needed")
        model = HistGradientBoostingRegressor(**self.PARAMS)
        return model.fit(x[rows], target[rows])

    def forecast(
        self, fitted: HistGradientBoostingRegressor, series: Series, steps: int
    ) -> Forecast:
        # Over the same visible slots as training rows were, so RSI's smoothing starts
        # where it did for them.
        x = feature_matrix(series, steps)[-1:]
        return Forecast(float(fitted.predict(x)[0]))

    def describe(self, fitted: HistGradientBoostingRegressor) -> dict[str, Any]:
        return {**self.PARAMS, "max_rows": self.max_rows, "iterations": fitted.n_iter_}


def library_versions() -> dict[str, str]:
    return {
        "numpy": np.__version__,
        "statsmodels": statsmodels.__version__,
        "scikit-learn": sklearn.__version__,
    }


def families_for(
    *, season: int | None, window: int, max_rows: int
) -> dict[str, Family]:
    """Every family offered for a horizon (seasonal naive only where a season applies)."""
    found: list[Family] = [Naive(), Drift(window)]
    if season is not None:
        found.append(SeasonalNaive(season))
    found += [Arima(window), GradientBoosting(max_rows)]
    return {family.name: family for family in found}


FAMILY_NAMES = ["naive", "drift", "seasonal_naive", "arima", "gbm"]
