"""Accuracy figures from forecasts and what happened: simple formulas, stated here.

Over the targets that have an actual:
- MAE = mean |actual - price|, RMSE = sqrt(mean (actual - price)^2),
  MAPE = 100 x mean |actual - price| / actual;
- directional accuracy: among targets where the forecast moves (price != last close),
  the share whose actual move from the last close has the same sign;
- per interval level: coverage (share of actuals inside [lo, hi]), mean width (hi - lo),
  n, and the pinball loss of its two bounds (quantiles (1-level)/2 and (1+level)/2);
  `pinball_loss` averages the four bounds over targets that have both levels;
- skill vs naive = 1 - MAE / naive MAE on exactly the same targets, the naive forecast
  being the last close at the origin (so the naive model's own skill is exactly 0);
- skill p-value: a one-sided paired t-test that the model's absolute errors are smaller
  than naive's on those targets (mean of |naive error| - |error| > 0; scipy). A lower
  MAE on a few hundred targets is often noise: the verdict says which it is.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from analytics.forecasts.families import LEVELS


@dataclass(frozen=True, slots=True)
class Scored:
    """One forecast with its outcome (actual None: not scored)."""

    last_close: float
    price: float
    intervals: dict[str, tuple[float, float]] | None
    actual: float | None


def _pinball(tau: float, actual: np.ndarray, quantile: np.ndarray) -> np.ndarray:
    diff = actual - quantile
    return np.maximum(tau * diff, (tau - 1) * diff)


def _round(value: float | None, digits: int = 10) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


def accuracy(items: Sequence[Scored]) -> dict[str, Any]:
    scored = [s for s in items if s.actual is not None]
    figures: dict[str, Any] = {"count": len(items), "targets": len(scored)}
    if not scored:
        figures.update(
            mae=None, rmse=None, mape=None, directional_accuracy=None,
            directional_targets=0, intervals={name: {"coverage": None,
            "mean_width": None, "n": 0, "pinball_loss": None} for name in LEVELS},
            pinball_loss=None, pinball_targets=0, skill_vs_naive=None, naive_mae=None,
            skill_p_value=None,
        )  # fmt: skip
        return figures
    actual = np.array([s.actual for s in scored], dtype=np.float64)
    price = np.array([s.price for s in scored])
    last = np.array([s.last_close for s in scored])
    error = actual - price
    mae = float(np.mean(np.abs(error)))
    naive_mae = float(np.mean(np.abs(actual - last)))
    moves = price != last
    same = np.sign(price - last) == np.sign(actual - last)
    intervals: dict[str, Any] = {}
    both = [s for s in scored if s.intervals is not None]
    for name, level in LEVELS.items():
        lo = np.array([s.intervals[name][0] for s in both])  # type: ignore[index]
        hi = np.array([s.intervals[name][1] for s in both])  # type: ignore[index]
        act = np.array([s.actual for s in both], dtype=np.float64)
        if not both:
            intervals[name] = {"coverage": None, "mean_width": None, "n": 0,
                               "pinball_loss": None}  # fmt: skip
            continue
        loss = (
            _pinball((1 - level) / 2, act, lo) + _pinball((1 + level) / 2, act, hi)
        ) / 2
        intervals[name] = {
            "coverage": _round(float(np.mean((act >= lo) & (act <= hi)))),
            "mean_width": _round(float(np.mean(hi - lo))),
            "n": len(both),
            "pinball_loss": _round(float(np.mean(loss))),
        }
    pinball = None
    if both:
        pinball = float(np.mean([intervals[name]["pinball_loss"] for name in LEVELS]))
    figures.update(
        mae=_round(mae),
        rmse=_round(math.sqrt(float(np.mean(error**2)))),
        mape=_round(float(np.mean(np.abs(error) / np.abs(actual))) * 100),
        directional_accuracy=_round(float(np.mean(same[moves])))
        if moves.any()
        else None,
        directional_targets=int(moves.sum()),
        intervals=intervals,
        pinball_loss=_round(pinball),
        pinball_targets=len(both),
        skill_vs_naive=_round(1 - mae / naive_mae) if naive_mae > 0 else None,
        skill_p_value=_skill_p_value(np.abs(actual - last) - np.abs(error)),
        naive_mae=_round(naive_mae),
    )
    return figures


def _skill_p_value(gain: np.ndarray) -> float | None:
    if len(gain) < 2 or not np.any(gain != gain[0]):
        return None  # no spread (the naive model itself): nothing to test
    return _round(float(stats.ttest_1samp(gain, 0.0, alternative="greater").pvalue), 6)


def verdict(*, model: str, figures: dict[str, Any], minimum: int, max_p: float) -> str:
    """The figures in plain words."""
    targets, skill = figures["targets"], figures["skill_vs_naive"]
    p_value = figures["skill_p_value"]
    if targets < minimum:
        return (
            f"Too few scored targets ({targets}; at least {minimum}) to say whether "
            "it beats the naive forecast."
        )
    if model == "naive":
        return f"This is the naive forecast (the last close), on {targets} targets."
    if skill is None:
        return "The price never moved over these targets: skill cannot be measured."
    percent = abs(skill) * 100
    if skill > 0 and p_value is not None and p_value < max_p:
        return (
            f"Beats the naive forecast: {percent:.1f}% lower mean absolute error on "
            f"the same {targets} targets (p = {p_value:.3f})."
        )
    if skill > 0:
        return (
            f"Does not beat the naive forecast: {percent:.1f}% lower mean absolute "
            f"error on the same {targets} targets, but not significantly "
            f"(p = {p_value if p_value is None else round(p_value, 3)}; "
            f"{max_p} needed): as likely luck."
        )
    return (
        f"Does not beat the naive forecast: {percent:.1f}% higher mean absolute "
        f"error on the same {targets} targets."
    )
