"""Training on the real demo candles: every family trains, is stored as a version with
its walk-forward figures, and predicts; the served model is the best by skill."""

import math
import pickle
from datetime import timedelta

import pytest

from analytics.forecasts import services
from analytics.forecasts.horizons import HORIZONS
from analytics.forecasts.models import BacktestForecast, ForecastModel, Prediction
from tests.analytics.forecasts.conftest import BTC_1D, ETH_1H, NOW, demo_closes, train
from tests.factories import UserFactory

FAMILIES_1H = {"naive", "drift", "seasonal_naive", "arima", "gbm"}
FAMILIES_7D = {"naive", "drift", "arima", "gbm"}  # a 7-day season is naive itself


@pytest.mark.parametrize(
    ("fixture", "horizon", "families", "demo"),
    [
        ("eth_hourly", "1h", FAMILIES_1H, ETH_1H),
        ("eth_hourly", "24h", FAMILIES_1H, ETH_1H),
        ("btc_daily", "7d", FAMILIES_7D, BTC_1D),
    ],
)
def test_every_family_trains_is_stored_and_predicts(
    request, quick, fixture, horizon, families, demo
):
    asset = request.getfixturevalue(fixture)
    summary = train(asset, horizon)
    models = {m.family: m for m in ForecastModel.objects.filter(asset=asset)}
    assert set(models) == families, summary
    closes = demo_closes(demo)
    last_close_time = closes.index[-1].to_pydatetime()
    for model in models.values():
        assert model.version == 1
        assert model.trained_to == last_close_time
        assert model.metrics["targets"] >= 20
        assert model.backtest["origins"] == model.forecasts.count() > 0
        assert set(model.library_versions) == {"numpy", "statsmodels", "scikit-learn"}
        assert pickle.loads(bytes(model.artefact)) is not None
    served = ForecastModel.objects.get(asset=asset, is_served=True)
    # The best skill among those a paired t-test says beat naive (p < 0.05), else naive.
    significant = [
        (m.metrics["skill_vs_naive"], m.family)
        for m in models.values()
        if m.metrics["skill_vs_naive"] is not None
        and m.metrics["skill_vs_naive"] > 0
        and m.metrics["skill_p_value"] < 0.05
    ]
    assert served.family == (max(significant)[1] if significant else "naive")
    user = UserFactory()
    span = HORIZONS[horizon].span
    for family in families:
        made = services.make_prediction(
            user=user, symbol=asset.symbol.lower(), horizon=horizon, model=family
        )
        assert made.family == family
        assert made.model_version == 1
        assert made.as_of == last_close_time
        assert made.target_time == last_close_time + span
        assert made.last_close == closes.iloc[-1]
        assert math.isfinite(made.price)
        assert made.price > 0
        lo80, hi80, lo95, hi95 = made.lo80, made.hi80, made.lo95, made.hi95
        assert lo95 < lo80 < hi80 < hi95, family
        if family == "naive":
            assert made.price == closes.iloc[-1]
    assert Prediction.objects.filter(user=user).count() == len(families)


def test_training_again_makes_new_versions_and_keeps_three_backtests(eth_hourly, quick):
    for _ in range(4):
        train(eth_hourly, "1h")
    naive = ForecastModel.objects.filter(asset=eth_hourly, family="naive")
    assert sorted(naive.values_list("version", flat=True)) == [1, 2, 3, 4]
    kept = set(
        BacktestForecast.objects.filter(model__family="naive").values_list(
            "model__version", flat=True
        )
    )
    assert kept == {2, 3, 4}
    assert ForecastModel.objects.filter(asset=eth_hourly, is_served=True).count() == 1


def test_too_little_history_is_reported_and_nothing_is_stored(quick, db):
    from tests.factories import AssetFactory
    from tests.prices.history import load_demo

    xrp = AssetFactory(symbol="XRP")
    load_demo(xrp, "binance_2018-06_XRP-USDT_1d.csv.gz")  # 46 daily candles
    summary = train(xrp, "7d")
    assert "too little history: 46 1d candles" in summary["skipped"]
    assert not ForecastModel.objects.filter(asset=xrp).exists()


def test_the_training_reads_nothing_after_until(eth_hourly, quick):
    until = NOW.replace(year=2018, month=6, day=10)
    train(eth_hourly, "1h", until=until)
    for model in ForecastModel.objects.filter(asset=eth_hourly):
        assert model.trained_to <= until
        last = model.forecasts.order_by("-target_time").first()
        assert last.target_time <= until
    assert timedelta(0) <= until - model.trained_to < timedelta(hours=1)
