"""Predictions over HTTP (per user, throttled writes, 400s naming the field) and their
scoring against the candle that closes at the target time (idempotent)."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from analytics.forecasts import services, tasks
from analytics.forecasts.models import Prediction
from prices.latest import record_latest_prices
from prices.services import CandleIn, upsert_candles
from tests.analytics.forecasts.conftest import ETH_1H, demo_closes, train
from tests.factories import AssetFactory
from tests.prices.history import load_demo

URL = "/api/v1/analytics/predictions/"
T = datetime(2018, 6, 1, tzinfo=UTC)  # inside the ETH hourly demo data
DAY = timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.isoformat()


KEYS = {
    "id", "symbol", "horizon", "model", "model_version", "made_at", "as_of",
    "target_time", "last_close", "price", "intervals", "actual", "error",
    "actual_source", "scored_at", "unscored_reason",
}  # fmt: skip


@pytest.fixture
def trained(eth_hourly, quick):  # type: ignore[no-untyped-def]
    train(eth_hourly, "1h")
    train(eth_hourly, "24h")
    return eth_hourly


@pytest.fixture
def trained_1h(eth_hourly, quick):  # type: ignore[no-untyped-def]
    train(eth_hourly, "1h")
    return eth_hourly


def test_a_prediction_is_made_stored_and_shaped_for_the_dashboard(
    alice_client, trained
):
    response = alice_client.post(
        URL, {"symbol": "eth", "horizon": "24h"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == KEYS
    closes = demo_closes(ETH_1H)
    assert body["symbol"] == "ETH"
    assert body["as_of"] == closes.index[-1].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["last_close"] == closes.iloc[-1]
    target = closes.index[-1] + timedelta(hours=24)
    assert body["target_time"] == target.strftime("%Y-%m-%dT%H:%M:%SZ")
    low80, high80 = body["intervals"]["80"]
    low95, high95 = body["intervals"]["95"]
    assert low95 < low80 < high80 < high95
    assert body["actual"] is None
    assert body["error"] is None
    assert Prediction.objects.get(pk=body["id"]).family == body["model"]
    assert "X-RateLimit-Remaining" in response


def test_predictions_need_a_user(api_client, trained_1h):
    response = api_client.post(URL, {"symbol": "ETH", "horizon": "1h"}, format="json")
    assert response.status_code == 401
    assert api_client.get(URL).status_code == 401


def test_another_users_predictions_are_not_listed_or_shown(
    alice_client, bob_client, trained_1h
):
    mine = alice_client.post(URL, {"symbol": "ETH", "horizon": "1h"}, format="json")
    bob_client.post(
        URL, {"symbol": "ETH", "horizon": "1h", "model": "gbm"}, format="json"
    )
    listed = alice_client.get(URL).json()
    assert [p["id"] for p in listed["results"]] == [mine.json()["id"]]
    bobs = bob_client.get(URL).json()["results"]
    assert [p["model"] for p in bobs] == ["gbm"]
    assert alice_client.get(f"{URL}{bobs[0]['id']}/").status_code == 404


def test_the_list_is_cursor_paged_and_filtered(alice_client, trained):
    for model in ("naive", "drift", "gbm"):
        alice_client.post(URL, {"symbol": "ETH", "horizon": "1h", "model": model},
                          format="json")  # fmt: skip
    alice_client.post(URL, {"symbol": "ETH", "horizon": "24h"}, format="json")
    first = alice_client.get(URL, {"limit": 2}).json()
    second = APIClient.get(alice_client, first["next"]).json()
    seen = [p["id"] for p in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 4
    assert seen == sorted(seen, reverse=True)  # newest first
    assert [
        p["model"] for p in alice_client.get(URL, {"model": "drift"}).json()["results"]
    ] == ["drift"]
    assert {
        p["horizon"]
        for p in alice_client.get(URL, {"horizon": "24h"}).json()["results"]
    } == {"24h"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"symbol": "NOPE", "horizon": "1h"}, "symbol"),
        ({"symbol": "bad symbol!", "horizon": "1h"}, "symbol"),
        ({"symbol": "ETH", "horizon": "2h"}, "horizon"),
        ({"symbol": "ETH", "horizon": "1h", "model": "lstm"}, "model"),
        ({"horizon": "1h"}, "symbol"),
        ({"symbol": "XRP", "horizon": "7d"}, "horizon"),  # 46 daily candles
        ({"symbol": "ETH", "horizon": "7d"}, "horizon"),  # 41 days of hourly ones
    ],
)
def test_bad_input_is_a_400_naming_the_field(alice_client, trained_1h, payload, field):
    xrp = AssetFactory(symbol="XRP")
    load_demo(xrp, "binance_2018-06_XRP-USDT_1d.csv.gz")
    response = alice_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [field]
    assert not Prediction.objects.exists()


def test_no_trained_model_is_a_400_naming_model(alice_client, eth_hourly, quick):
    response = alice_client.post(URL, {"symbol": "ETH", "horizon": "1h"}, format="json")
    assert response.status_code == 400
    assert "No trained model" in response.json()["error"]["details"]["model"][0]


def test_scoring_records_the_close_at_the_target_time_once(alice, trained):
    eth = trained
    """Predictions made at T inside the data: their targets have candles."""
    closes = demo_closes(ETH_1H)
    made = [
        services.make_prediction(user=alice, symbol="ETH", horizon=h, model=m, at=T)
        for h in ("1h", "24h")
        for m in ("naive", "arima", "gbm")
    ]
    # The periodic run tries targets of the last 7 days only: not these, from now...
    assert services.score_predictions() == 0
    # ...but a run two days after them scores each from its candle.
    assert services.score_predictions(now=T + timedelta(days=2)) == len(made)
    for prediction in made:
        prediction.refresh_from_db()
        expected = closes[prediction.target_time]
        assert prediction.actual == expected
        assert prediction.actual_source == "candle 1h"
        assert prediction.error == pytest.approx(expected - prediction.price)
        assert prediction.scored_at is not None
        assert prediction.unscored_reason == ""
    before = list(Prediction.objects.values().order_by("id"))
    assert services.score_predictions(now=T + timedelta(days=2)) == 0
    assert tasks.score_written_candles(eth.pk, "1h", iso(T), iso(T + DAY)) == 0
    assert list(Prediction.objects.values().order_by("id")) == before


def test_a_late_candle_scores_a_waiting_prediction(alice, trained_1h):
    made = services.make_prediction(user=alice, symbol="ETH", horizon="1h")
    assert made.target_time < datetime.now(UTC)  # the demo data is old
    assert services.score_predictions(now=made.target_time + timedelta(hours=1)) == 0
    made.refresh_from_db()
    assert made.actual is None
    assert "No 1h candle closes at the target time" in made.unscored_reason
    upsert_candles(
        asset=trained_1h, interval="1h", source="backfill",
        rows=[CandleIn(made.target_time - timedelta(hours=1), 500, 510, 490, 505.5, 10)],
    )  # fmt: skip
    opened = iso(made.target_time - timedelta(hours=1))
    assert tasks.score_written_candles(trained_1h.pk, "1h", opened, opened) == 1
    made.refresh_from_db()
    assert made.actual == 505.5
    assert made.unscored_reason == ""


def test_a_latest_price_within_the_tolerance_stands_in_for_the_candle(
    alice, trained_1h
):
    made = services.make_prediction(user=alice, symbol="ETH", horizon="1h")
    record_latest_prices([(trained_1h, 612.25, made.target_time + timedelta(seconds=60),
                           "binance")])  # fmt: skip
    assert services.score_predictions(now=made.target_time + timedelta(minutes=2)) == 1
    made.refresh_from_db()
    assert made.actual == 612.25
    assert made.actual_source == "latest price binance"


def test_a_latest_price_too_far_from_the_target_does_not_score(alice, trained_1h):
    made = services.make_prediction(user=alice, symbol="ETH", horizon="1h")
    record_latest_prices([(trained_1h, 612.25, made.target_time + timedelta(hours=1),
                           "binance")])  # fmt: skip
    assert services.score_predictions(now=made.target_time + timedelta(hours=2)) == 0


def test_live_accuracy_equals_a_recomputation_from_the_listed_predictions(
    api_client, alice_client, alice, trained_1h, settings
):
    settings.FORECAST_SCORE_DAYS = 30  # the periodic run reaches back over all of them
    for hours in range(0, 24 * 10, 7):
        services.make_prediction(user=alice, symbol="ETH", horizon="1h", model="gbm",
                                 at=T + timedelta(hours=hours))  # fmt: skip
    assert services.score_predictions(now=T + timedelta(days=11)) == 35
    listed, url = [], URL + "?model=gbm&limit=100"
    while url:
        page = alice_client.get(url).json()
        listed += page["results"]
        url = page["next"]
    body = api_client.get("/api/v1/analytics/accuracy/", {"symbol": "ETH", "horizon": "1h",
                          "model": "gbm", "source": "live"}).json()  # fmt: skip
    assert body["count"] == len(listed) == 35
    errors = [p["actual"] - p["price"] for p in listed]
    naive = [p["actual"] - p["last_close"] for p in listed]
    mae = sum(map(abs, errors)) / len(errors)
    assert body["targets"] == 35
    assert body["mae"] == pytest.approx(mae, rel=1e-9)
    assert body["rmse"] == pytest.approx((sum(e * e for e in errors) / 35) ** 0.5)
    assert body["skill_vs_naive"] == pytest.approx(
        1 - mae / (sum(map(abs, naive)) / 35)
    )
    inside = [p["intervals"]["95"][0] <= p["actual"] <= p["intervals"]["95"][1]
              for p in listed]  # fmt: skip
    assert body["intervals"]["95"]["coverage"] == pytest.approx(sum(inside) / 35)
    assert body["intervals"]["95"]["n"] == 35
