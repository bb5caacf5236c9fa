"""The walk-forward backtest: its forecasts line up with the demo candles read
independently, its figures equal a recomputation from the rows it lists (JSON and CSV),
the naive model's skill is exactly 0, and nothing reads the future."""

import io
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.forecasts import services
from analytics.forecasts.families import families_for
from analytics.forecasts.models import ForecastModel
from analytics.forecasts.series import on_grid
from analytics.forecasts.walkforward import origin_ends, walk_forward
from prices.services import CandleIn, upsert_candles
from tests.analytics.forecasts.conftest import ETH_1H, demo_closes, train
from tests.factories import UserFactory

URL = "/api/v1/analytics/accuracy/"
LEVELS = {"80": 0.80, "95": 0.95}


def accuracy(client, **params):  # type: ignore[no-untyped-def]
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def recompute(rows: pd.DataFrame) -> dict:
    """The figures, from the listed rows, written out with pandas/numpy."""
    rows = rows[rows["actual"].notna()]
    err = rows["actual"] - rows["price"]
    naive_mae = (rows["actual"] - rows["last_close"]).abs().mean()
    moved = rows[rows["price"] != rows["last_close"]]
    out = {
        "targets": len(rows),
        "mae": err.abs().mean(),
        "rmse": math.sqrt((err**2).mean()),
        "mape": (err.abs() / rows["actual"]).mean() * 100,
        "naive_mae": naive_mae,
        "skill_vs_naive": 1 - err.abs().mean() / naive_mae,
        "gain": ((rows["actual"] - rows["last_close"]).abs() - err.abs()).to_numpy(),
        "directional_accuracy": (
            (np.sign(moved["price"] - moved["last_close"])
             == np.sign(moved["actual"] - moved["last_close"])).mean()
            if len(moved) else None
        ),
    }  # fmt: skip
    with_bounds = rows[rows["lo80"].notna()]
    losses = []
    for name, level in LEVELS.items():
        lo, hi, y = (
            with_bounds[f"lo{name}"],
            with_bounds[f"hi{name}"],
            with_bounds["actual"],
        )
        out[f"coverage{name}"] = ((y >= lo) & (y <= hi)).mean()
        out[f"width{name}"] = (hi - lo).mean()
        for tau, q in (((1 - level) / 2, lo), ((1 + level) / 2, hi)):
            d = y - q
            losses.append(np.where(d >= 0, tau * d, (tau - 1) * d))
    out["pinball"] = (
        float(np.mean(np.concatenate(losses))) if len(with_bounds) else None
    )
    return out


def flat(body: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "origin": f["origin"], "target_time": f["target_time"],
                "last_close": f["last_close"], "price": f["price"],
                "lo80": f["intervals"]["80"][0] if f["intervals"] else None,
                "hi80": f["intervals"]["80"][1] if f["intervals"] else None,
                "lo95": f["intervals"]["95"][0] if f["intervals"] else None,
                "hi95": f["intervals"]["95"][1] if f["intervals"] else None,
                "actual": f["actual"],
            }
            for f in body["forecasts"]
        ]
    ).astype({"lo80": float, "hi80": float, "lo95": float, "hi95": float, "actual": float})  # fmt: skip


def assert_figures(body: dict, expected: dict) -> None:
    assert body["targets"] == expected["targets"] >= 20
    for key in ("mae", "rmse", "mape", "naive_mae", "skill_vs_naive"):
        assert body[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-9), key
    if expected["directional_accuracy"] is None:
        assert body["directional_accuracy"] is None
    else:
        assert body["directional_accuracy"] == pytest.approx(
            expected["directional_accuracy"]
        )
    for name in LEVELS:
        figures = body["intervals"][name]
        assert figures["coverage"] == pytest.approx(expected[f"coverage{name}"])
        assert figures["mean_width"] == pytest.approx(
            expected[f"width{name}"], rel=1e-9
        )
    assert body["pinball_loss"] == pytest.approx(expected["pinball"], rel=1e-9)
    # The paired t-test of the absolute-error gain over naive, written out.
    gain = expected["gain"]
    if np.all(gain == gain[0]):
        assert body["skill_p_value"] is None
    else:
        t = gain.mean() / (gain.std(ddof=1) / math.sqrt(len(gain)))
        p = stats.t.sf(t, df=len(gain) - 1)
        assert body["skill_p_value"] == pytest.approx(p, abs=1e-6)


@pytest.mark.parametrize("horizon", ["1h", "24h"])
def test_backtest_figures_equal_an_independent_recomputation(
    api_client, eth_hourly, quick, horizon
):
    train(eth_hourly, horizon)
    closes = demo_closes(ETH_1H)
    for family in ("naive", "drift", "seasonal_naive", "arima", "gbm"):
        body = accuracy(api_client, symbol="eth", horizon=horizon, model=family,
                        detail="true")  # fmt: skip
        rows = flat(body)
        assert body["count"] == len(rows) == body["backtest"]["origins"]
        assert body["backtest"]["step"] == {"1h": 1, "24h": 24}[horizon]
        assert_figures(body, recompute(rows))
        # The rows line up with the demo file: last close at the origin, actual at
        # the target, target one horizon after the origin.
        origin = pd.to_datetime(rows["origin"])
        target = pd.to_datetime(rows["target_time"])
        assert (target - origin == pd.Timedelta(horizon)).all()
        assert np.allclose(rows["last_close"], closes.reindex(origin).to_numpy())
        assert np.allclose(rows["actual"], closes.reindex(target).to_numpy())
        if family == "naive":
            assert body["skill_vs_naive"] == 0.0
            assert (rows["price"] == rows["last_close"]).all()
        if family == "seasonal_naive":
            season = {"1h": 24, "24h": 168}[horizon]
            back = target - pd.Timedelta(hours=season)
            assert np.allclose(rows["price"], closes.reindex(back).to_numpy())
        beats = body["skill_vs_naive"] > 0 and (body["skill_p_value"] or 1) < 0.05
        if family != "naive":
            assert body["verdict"].startswith(
                "Beats the naive forecast" if beats else "Does not beat the naive"
            )
    # Interval coverage is reported for every family, near the stated levels here.
    naive = accuracy(api_client, symbol="ETH", horizon=horizon, model="naive")
    assert naive["intervals"]["95"]["n"] > 0


def test_the_csv_download_has_the_rows_behind_the_figures(
    api_client, eth_hourly, quick
):
    train(eth_hourly, "1h")
    response = api_client.get(URL, {"symbol": "ETH", "horizon": "1h", "model": "gbm",
                                    "format": "csv"})  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = pd.read_csv(io.StringIO(response.content.decode()))
    body = accuracy(api_client, symbol="ETH", horizon="1h", model="gbm")
    assert len(rows) == body["count"]
    assert_figures(body, recompute(rows))


def test_the_default_is_the_served_model_and_its_verdict(api_client, eth_hourly, quick):
    train(eth_hourly, "24h")
    served = ForecastModel.objects.get(asset=eth_hourly, horizon="24h", is_served=True)
    body = accuracy(api_client, symbol="ETH", horizon="24h")
    assert body["model"] == served.family
    assert body["model_version"] == served.version
    if served.family == "naive":
        assert body["verdict"].startswith("No model beats the naive forecast")
    else:
        assert body["verdict"].startswith("Beats the naive forecast")


def test_walk_forward_forecasts_never_read_a_later_candle():
    """Every family, refits included: poisoning one candle changes no forecast made
    before it closed."""
    closes = demo_closes(ETH_1H).to_numpy()[:650]
    opens = tuple(int(t) for t in np.arange(len(closes)) * 3600)

    def series(values):  # type: ignore[no-untyped-def]
        return on_grid(interval="1h", step_seconds=3600, open_times=opens,
                       close=tuple(values), high=tuple(values * 1.01),
                       low=tuple(values * 0.99), volume=(1.0,) * len(values))  # fmt: skip

    poisoned = closes.copy()
    k = 560
    poisoned[k:] *= 50  # slot k onwards: absurd
    ends = origin_ends(size=len(closes), steps=1, count=150, step=1, first=300)
    for family in families_for(season=24, window=300, max_rows=400).values():
        runs = [
            walk_forward(
                series=series(values),
                family=family,
                steps=1,
                ends=ends,
                step=1,
                refit_every=10,
                conformal_window=100,
                conformal_minimum=20,
            )
            for values in (closes, poisoned)
        ]
        before = [(a, b) for a, b in zip(*(r.rows for r in runs), strict=True)
                  if a.origin < (k + 1) * 3600]  # fmt: skip
        assert len(before) >= 50, family.name
        for clean, dirty in before:
            assert dirty.price == clean.price, family.name
            assert dirty.intervals == clean.intervals, family.name
        # ...while forecasts made after it did change: the poison is seen when it may be.
        after = runs[1].rows[-1], runs[0].rows[-1]
        assert after[0].price != after[1].price


def test_a_poisoned_future_candle_changes_no_model_and_no_forecast_at_t(
    eth_hourly, quick
):
    """Trained up to T and predicting at T, then a candle after T appears (absurd):
    training again up to T gives the same versions, figures and forecasts."""
    t = datetime(2018, 6, 10, tzinfo=UTC)
    user = UserFactory()
    train(eth_hourly, "1h", until=t)
    first = {m.family: m for m in ForecastModel.objects.filter(version=1)}
    made = {f: services.make_prediction(user=user, symbol="ETH", horizon="1h",
                                        model=f, at=t) for f in first}  # fmt: skip
    upsert_candles(
        asset=eth_hourly,
        interval="1h",
        rows=[
            CandleIn(t + timedelta(hours=h), 1e6, 1e6, 1e6, 1e6, 1e9) for h in range(3)
        ],
        source="poison",
    )
    train(eth_hourly, "1h", until=t)
    services._fitted.cache_clear()
    for family, old in first.items():
        new = ForecastModel.objects.get(family=family, version=2)
        assert new.metrics == old.metrics
        assert new.conformal == old.conformal
        assert new.parameters == old.parameters
        assert list(new.forecasts.values_list("origin", "price", "actual")) == list(
            old.forecasts.values_list("origin", "price", "actual")
        )
        again = services.make_prediction(user=user, symbol="ETH", horizon="1h",
                                         model=family, at=t)  # fmt: skip
        assert (again.as_of, again.price, again.intervals) == (
            made[family].as_of,
            made[family].price,
            made[family].intervals,
        )
    # The poisoned candles are there to be read by a forecast made after they closed.
    later = services.make_prediction(user=user, symbol="ETH", horizon="1h",
                                     model="naive", at=t + timedelta(hours=3))  # fmt: skip
    assert later.price == 1e6
