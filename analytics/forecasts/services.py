"""Writes: train models (walk-forward, then a final fit), make predictions, score them."""

import logging
import math
import pickle
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from analytics.forecasts import metrics, selectors
from analytics.forecasts.families import (
    LEVELS,
    Family,
    FitError,
    families_for,
    library_versions,
    single_threaded,
)
from analytics.forecasts.horizons import HORIZONS, Horizon
from analytics.forecasts.models import (
    BacktestForecast,
    ForecastModel,
    Prediction,
    TrainingRun,
)
from analytics.forecasts.series import Series
from analytics.forecasts.walkforward import Backtest, origin_ends, walk_forward
from assets.models import Asset
from marketpulse.errors import InvalidInput
from prices.latest import latest_prices

logger = logging.getLogger(__name__)

# Walk-forward forecasts kept per family, asset and horizon: the latest versions'.
KEEP_BACKTESTS = 3


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def families(horizon: Horizon) -> dict[str, Family]:
    return families_for(
        season=horizon.season,
        window=settings.FORECAST_WINDOW,
        max_rows=settings.FORECAST_GBM_ROWS,
    )


def backtest(
    *, series: Series, horizon: Horizon, family: Family, origins: int, fits: int
) -> Backtest:
    """The walk-forward backtest of one family over `series`: up to `origins` origins
    one horizon apart, ending at the latest whose target is in the data."""
    ends = origin_ends(
        size=len(series),
        steps=horizon.steps,
        count=origins,
        step=horizon.steps,
        first=settings.FORECAST_MIN_HISTORY,
    )
    return walk_forward(
        series=series,
        family=family,
        steps=horizon.steps,
        ends=ends,
        step=horizon.steps,
        refit_every=max(1, math.ceil(len(ends) / fits)),
        conformal_window=settings.FORECAST_CONFORMAL_WINDOW,
        conformal_minimum=settings.FORECAST_CONFORMAL_MIN,
    )


def train_pair(
    *, asset: Asset, horizon: Horizon, until: datetime, run: TrainingRun | None = None
) -> dict[str, Any]:
    """Backtests and fits every family on the candles closed by `until`, stores a new
    version of each, and serves the best by walk-forward skill (naive unless one beats
    it). Returns a summary; too little history is reported, not raised."""
    started = time.monotonic()
    series = selectors.load_series(
        asset_id=asset.pk,
        horizon=horizon,
        until=until,
        candles=settings.FORECAST_HISTORY,
    )
    known = int(np.count_nonzero(~np.isnan(series.close)))
    if known < settings.FORECAST_MIN_HISTORY + horizon.steps:
        return {"skipped": f"too little history: {known} {horizon.interval} candles, "
                f"{settings.FORECAST_MIN_HISTORY + horizon.steps} needed"}  # fmt: skip
    summary: dict[str, Any] = {"candles": known, "families": {}}
    stored: list[ForecastModel] = []
    with single_threaded():
        for name, family in families(horizon).items():
            tested = backtest(
                series=series,
                horizon=horizon,
                family=family,
                origins=settings.FORECAST_BACKTEST_ORIGINS,
                fits=settings.FORECAST_BACKTEST_FITS,
            )
            try:
                fitted = family.fit(series, horizon.steps)
            except FitError as exc:
                summary["families"][name] = {"skipped": str(exc)}
                continue
            stored.append(
                _store_version(asset, horizon, family, tested, fitted, series, run)
            )
            summary["families"][name] = {
                "version": stored[-1].version,
                "skill_vs_naive": stored[-1].metrics.get("skill_vs_naive"),
                "targets": stored[-1].metrics.get("targets"),
            }
    served = _choose(stored)
    with transaction.atomic():
        ForecastModel.objects.filter(
            asset=asset, horizon=horizon.name, is_served=True
        ).update(is_served=False)
        ForecastModel.objects.filter(pk=served.pk).update(is_served=True)
    summary["served"] = served.family
    summary["seconds"] = round(time.monotonic() - started, 2)
    return summary


def _choose(stored: list[ForecastModel]) -> ForecastModel:
    """Highest walk-forward skill vs naive on enough targets, and significant (a lower
    MAE that a paired t-test calls luck does not beat naive); naive wins ties."""
    naive = next(m for m in stored if m.family == "naive")
    best, best_skill = naive, 0.0
    for model in stored:
        skill = model.metrics.get("skill_vs_naive")
        if (
            skill is not None
            and model.metrics.get("targets", 0) >= settings.FORECAST_MIN_TARGETS
            and skill > best_skill
            and (model.metrics.get("skill_p_value") or 1.0)
            < settings.FORECAST_SERVE_MAX_P
        ):
            best, best_skill = model, skill
    return best


def _store_version(
    asset: Asset,
    horizon: Horizon,
    family: Family,
    tested: Backtest,
    fitted: Any,
    series: Series,
    run: TrainingRun | None,
) -> ForecastModel:
    rows = tested.rows
    figures = metrics.accuracy(
        [metrics.Scored(r.last_close, r.price, r.intervals, r.actual) for r in rows]
    )
    with transaction.atomic():
        latest = ForecastModel.objects.filter(
            asset=asset, horizon=horizon.name, family=family.name
        ).aggregate(v=Max("version"))["v"]
        model = ForecastModel.objects.create(
            asset=asset,
            horizon=horizon.name,
            family=family.name,
            version=(latest or 0) + 1,
            run=run,
            interval=horizon.interval,
            parameters=family.describe(fitted),
            features=family.features,
            trained_from=_utc(int(series.close_times[0])),
            trained_to=_utc(int(series.close_times[-1])),
            metrics=figures,
            backtest={
                "step": tested.step,
                "origins": len(rows),
                "refit_every": tested.refit_every,
                "fits": tested.fits,
                "window": f"rolling: arima and drift fit the latest "
                f"{settings.FORECAST_WINDOW} candles, gbm the latest "
                f"{settings.FORECAST_GBM_ROWS} rows whose target had closed",
                "start": _utc(rows[0].origin).isoformat() if rows else None,
                "end": _utc(rows[-1].origin).isoformat() if rows else None,
                "problem": tested.problem,
            },
            conformal=tested.conformal,
            library_versions=library_versions(),
            artefact=pickle.dumps(fitted),
        )
        BacktestForecast.objects.bulk_create(
            BacktestForecast(
                model=model,
                origin=_utc(r.origin),
                target_time=_utc(r.target),
                last_close=r.last_close,
                price=r.price,
                actual=r.actual,
                **_columns(r.intervals),
            )
            for r in rows
        )
        old = ForecastModel.objects.filter(
            asset=asset, horizon=horizon.name, family=family.name,
            version__lte=model.version - KEEP_BACKTESTS,
        )  # fmt: skip
        BacktestForecast.objects.filter(model__in=old).delete()
    return model


def _columns(bounds: dict[str, tuple[float, float]] | None) -> dict[str, float | None]:
    if bounds is None:
        return {"lo80": None, "hi80": None, "lo95": None, "hi95": None}
    return {
        "lo80": bounds["80"][0], "hi80": bounds["80"][1],
        "lo95": bounds["95"][0], "hi95": bounds["95"][1],
    }  # fmt: skip


def train_models(
    *, run: TrainingRun, symbols: list[str] | None, horizons: list[str] | None
) -> TrainingRun:
    """Trains every asked-for asset x horizon (all assets with candles when None);
    records the outcome on `run`."""
    started = datetime.now(UTC)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", started_at=started)
    assets = Asset.objects.order_by("symbol")
    symbols = symbols or settings.FORECAST_SYMBOLS
    if symbols:
        assets = assets.filter(symbol__in=[s.upper() for s in symbols])
    summary: dict[str, Any] = {}
    try:
        for asset in assets:
            for name in horizons or list(HORIZONS):
                summary[f"{asset.symbol} {name}"] = train_pair(
                    asset=asset, horizon=HORIZONS[name], until=started, run=run
                )
    except Exception as exc:
        logger.exception("forecast training failed")
        run.status, run.error = TrainingRun.Status.FAILED, repr(exc)
    else:
        run.status = TrainingRun.Status.SUCCEEDED
    run.summary, run.finished_at = summary, datetime.now(UTC)
    run.started_at = started
    run.save(update_fields=["status", "error", "summary", "finished_at", "started_at"])
    return run


@lru_cache(maxsize=256)
def _fitted(model_id: int) -> Any:
    # Versions never change once stored: their artefacts can be kept per process.
    artefact = ForecastModel.objects.values_list("artefact", flat=True).get(pk=model_id)
    # Unpickling is safe here: only train_pair writes artefacts.
    return pickle.loads(bytes(artefact))


def make_prediction(
    *,
    user: User,
    symbol: str,
    horizon: str,
    model: str | None = None,
    at: datetime | None = None,
) -> Prediction:
    """Forecasts from the candles closed by `at` (now) with the served model (or the
    latest version of `model`) and stores it."""
    made_at = datetime.now(UTC)
    at = at or made_at
    asset = selectors.asset_for(symbol)
    chosen_horizon = selectors.horizon_for(horizon)
    family_name = None if model is None else selectors.family_for(model)
    series = selectors.load_series(
        asset_id=asset.pk,
        horizon=chosen_horizon,
        until=at,
        candles=settings.FORECAST_WINDOW + 50,
    )
    known = int(np.count_nonzero(~np.isnan(series.close)))
    if known < settings.FORECAST_MIN_HISTORY:
        raise InvalidInput(
            field="horizon",
            message=f"Too little history: {asset.symbol} has {known} "
            f"{chosen_horizon.interval} candles closed by then; the {horizon} horizon "
            f"needs {settings.FORECAST_MIN_HISTORY}.",
        )
    stored = selectors.model_for(asset=asset, horizon=horizon, family=family_name)
    if stored is None:
        raise InvalidInput(
            field="model",
            message=f"No trained {family_name or 'model'} for {asset.symbol} {horizon} "
            "yet (operators: POST /api/v1/analytics/models/train/).",
        )
    family = families(chosen_horizon)[stored.family]
    with single_threaded():
        forecast = family.forecast(_fitted(stored.pk), series, chosen_horizon.steps)
    last = float(series.close[-1])
    if math.isnan(forecast.log_return):
        raise InvalidInput(
            field="model",
            message=f"{stored.family} cannot forecast from these candles (a candle it "
            "needs is missing).",
        )
    price = last * math.exp(forecast.log_return)
    bounds: dict[str, tuple[float, float]] | None = None
    if forecast.intervals is not None:
        bounds = {
            k: (last * math.exp(lo), last * math.exp(hi))
            for k, (lo, hi) in forecast.intervals.items()
        }
    elif all(k in stored.conformal for k in LEVELS):
        bounds = {
            k: (
                price * math.exp(-stored.conformal[k]),
                price * math.exp(stored.conformal[k]),
            )
            for k in LEVELS
        }
    as_of = _utc(int(series.close_times[-1]))
    return Prediction.objects.create(
        user=user,
        asset=asset,
        horizon=horizon,
        model=stored,
        family=stored.family,
        model_version=stored.version,
        made_at=made_at,
        as_of=as_of,
        target_time=as_of + chosen_horizon.span,
        last_close=last,
        price=price,
        **_columns(bounds),
    )


def score_predictions(
    *,
    now: datetime | None = None,
    asset_id: int | None = None,
    targets: tuple[datetime, datetime] | None = None,
    limit: int = 2000,
) -> int:
    """Records the actual price of due, unscored predictions: the close of the candle
    closing at the target time, else a latest price within the tolerance of it;
    otherwise the reason. Idempotent: scored predictions are never touched again.

    Without `targets`, only targets of the last FORECAST_SCORE_DAYS days are tried (so
    predictions whose candles never came cannot crowd out new ones); candle writes
    score the targets their candles close, however old (`score_written_candles`)."""
    now = now or datetime.now(UTC)
    due = Prediction.objects.filter(actual__isnull=True, target_time__lte=now)
    if asset_id is not None:
        due = due.filter(asset_id=asset_id)
    if targets is None:
        due = due.filter(
            target_time__gte=now - timedelta(days=settings.FORECAST_SCORE_DAYS)
        )
    else:
        due = due.filter(target_time__range=targets)
    scored = 0
    for prediction in due.select_related("asset").order_by("target_time")[:limit]:
        interval = HORIZONS[prediction.horizon].interval
        actual = selectors.close_at(
            asset_id=prediction.asset_id,
            interval=interval,
            close_time=prediction.target_time,
        )
        source = f"candle {interval}"
        if actual is None:
            actual, source = _latest_near(prediction)
        if actual is None:
            reason = (
                f"No {interval} candle closes at the target time, and no latest price "
                f"within {settings.FORECAST_SCORE_TOLERANCE} s of it (yet)."
            )
            if prediction.unscored_reason != reason:
                Prediction.objects.filter(pk=prediction.pk).update(
                    unscored_reason=reason
                )
            continue
        updated = Prediction.objects.filter(
            pk=prediction.pk, actual__isnull=True
        ).update(actual=actual, actual_source=source, scored_at=now, unscored_reason="")
        scored += updated
    return scored


def _latest_near(prediction: Prediction) -> tuple[float | None, str]:
    found, _ = latest_prices([prediction.asset.symbol])
    if not found or found[0] is None:
        return None, ""
    latest = found[0]
    as_of = datetime.fromisoformat(latest["as_of"].replace("Z", "+00:00"))
    gap = abs((as_of - prediction.target_time).total_seconds())
    if gap > settings.FORECAST_SCORE_TOLERANCE:
        return None, ""
    return latest["price"], f"latest price {latest['source']}"
