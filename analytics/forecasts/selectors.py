"""Reads: candles as a series (always bounded above), models, predictions, accuracy."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from analytics.forecasts import metrics
from analytics.forecasts.horizons import HORIZONS, Horizon
from analytics.forecasts.models import (
    BacktestForecast,
    Family,
    ForecastModel,
    Prediction,
)
from analytics.forecasts.series import Series, on_grid
from assets.models import Asset
from marketpulse.errors import InvalidInput
from prices.intervals import DURATIONS, floor_time
from prices.selectors import candle_columns


def load_series(
    *, asset_id: int, horizon: Horizon, until: datetime, candles: int
) -> Series:
    """The latest `candles` candles of the horizon's interval that had closed by
    `until`: the selector is given `until` (floored to the interval) as its exclusive
    end, so nothing after it is read."""
    end = floor_time(until, horizon.interval)
    columns = candle_columns(
        asset_id=asset_id, interval=horizon.interval, start=end, end=end, before=candles
    )
    return on_grid(
        interval=horizon.interval,
        step_seconds=int(horizon.step.total_seconds()),
        open_times=columns.open_time,
        close=columns.close,
        high=columns.high,
        low=columns.low,
        volume=columns.volume,
    )


def close_at(*, asset_id: int, interval: str, close_time: datetime) -> float | None:
    """The close of the candle of `interval` that closes at `close_time`, if stored."""
    start = close_time - DURATIONS[interval]
    columns = candle_columns(
        asset_id=asset_id, interval=interval, start=start, end=close_time
    )
    return float(columns.close[0]) if columns.close.size else None


def asset_for(symbol: str) -> Asset:
    asset = Asset.objects.filter(symbol=symbol.upper()).first()
    if asset is None:
        raise InvalidInput(field="symbol", message=f"No asset with symbol {symbol!r}.")
    return asset


def asset_exists(symbol: str) -> bool:
    return Asset.objects.filter(symbol=symbol.upper()).exists()


def horizon_for(name: str) -> Horizon:
    if name not in HORIZONS:
        raise InvalidInput(
            field="horizon", message=f"One of {', '.join(HORIZONS)}, not {name!r}."
        )
    return HORIZONS[name]


def family_for(name: str) -> str:
    if name not in Family.values:
        raise InvalidInput(
            field="model", message=f"One of {', '.join(Family.values)}, not {name!r}."
        )
    return name


def model_for(
    *, asset: Asset, horizon: str, family: str | None
) -> ForecastModel | None:
    """The served model (best walk-forward skill, naive included), or the latest
    version of `family`."""
    models = ForecastModel.objects.filter(asset=asset, horizon=horizon)
    if family is None:
        return models.filter(is_served=True).first()
    return models.filter(family=family).order_by("-version").first()


def predictions_for(
    *,
    user: User,
    symbol: str | None,
    horizon: str | None,
    model: str | None,
) -> QuerySet[Prediction]:
    """The user's own predictions only."""
    found = Prediction.objects.filter(user=user).select_related("asset")
    if symbol is not None:
        found = found.filter(asset=asset_for(symbol))
    if horizon is not None:
        found = found.filter(horizon=horizon_for(horizon).name)
    if model is not None:
        found = found.filter(family=family_for(model))
    return found


def _scored(rows: Any) -> list[metrics.Scored]:
    return [metrics.Scored(r.last_close, r.price, _bounds(r), r.actual) for r in rows]


def _bounds(row: Any) -> dict[str, tuple[float, float]] | None:
    if row.lo80 is None or row.lo95 is None:
        return None
    return {"80": (row.lo80, row.hi80), "95": (row.lo95, row.hi95)}


def backtest_rows(model: ForecastModel) -> QuerySet[BacktestForecast]:
    return BacktestForecast.objects.filter(model=model).order_by("origin")


def accuracy_for(
    *, symbol: str, horizon: str, model: str | None, source: str
) -> tuple[dict[str, Any], list[Any]]:
    """The accuracy figures of a model for an asset and horizon (the served one when
    `model` is None), live (scored predictions of every user) or from its walk-forward
    backtest; and the rows behind them."""
    asset = asset_for(symbol)
    horizon_for(horizon)
    family = None if model is None else family_for(model)
    chosen = model_for(asset=asset, horizon=horizon, family=family)
    body: dict[str, Any] = {
        "symbol": asset.symbol,
        "horizon": horizon,
        "model": family or (chosen.family if chosen else None),
        "model_version": chosen.version if chosen else None,
        "source": source,
        "backtest": None,
    }
    rows: list[Any]
    if source == "backtest":
        rows = list(backtest_rows(chosen)) if chosen else []
        if chosen is not None:
            body["backtest"] = chosen.backtest
    else:
        live = Prediction.objects.filter(asset=asset, horizon=horizon)
        if body["model"] is not None:
            live = live.filter(family=body["model"])
        rows = list(live.order_by("target_time", "id"))
    figures = metrics.accuracy(_scored(rows))
    body.update(figures)
    minimum = settings.FORECAST_MIN_TARGETS
    if chosen is None:
        body["verdict"] = (
            f"No trained model for {asset.symbol} {horizon} yet (too little history, "
            "or not trained)."
        )
    else:
        body["verdict"] = metrics.verdict(
            model=body["model"],
            figures=figures,
            minimum=minimum,
            max_p=settings.FORECAST_SERVE_MAX_P,
        )
        if (
            family is None
            and chosen.family == "naive"
            and figures["targets"] >= minimum
        ):
            body["verdict"] = (
                f"No model beats the naive forecast for {asset.symbol} {horizon} in "
                "the walk-forward backtest: the naive forecast is served."
            )
    return body, rows
