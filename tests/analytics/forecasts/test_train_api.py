"""Training on demand (operators, 202 with a run, enqueued after commit), the task's
redelivery guarantee, the models listing, and the beat schedule entries."""

from analytics.forecasts import tasks
from analytics.forecasts.models import ForecastModel, TrainingRun
from prices.ingest.schedule import default_schedule

URL = "/api/v1/analytics/models/train/"


def test_an_operator_queues_a_training_run_that_the_task_carries_out(
    api_client, operator, eth_hourly, quick, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(operator)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(
            URL, {"symbols": ["eth"], "horizons": ["1h"]}, format="json"
        )
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] == "queued"
    assert run["params"] == {"symbols": ["ETH"], "horizons": ["1h"]}
    assert len(callbacks) == 1  # sent once the run is committed
    assert tasks.train_models(run_id=run["id"]) == "succeeded"
    done = TrainingRun.objects.get(pk=run["id"])
    assert done.summary["ETH 1h"]["served"] in {"naive", "drift", "seasonal_naive",
                                                "arima", "gbm"}  # fmt: skip
    assert ForecastModel.objects.filter(run=done).count() == 5
    # A redelivered message finds the run no longer queued: nothing is trained again.
    assert tasks.train_models(run_id=run["id"]) == "succeeded"
    assert ForecastModel.objects.count() == 5
    listed = api_client.get("/api/v1/analytics/models/", {"served": "true"}).json()
    assert [m["symbol"] for m in listed["results"]] == ["ETH"]
    assert listed["results"][0]["metrics"]["targets"] >= 20
    assert "artefact" not in listed["results"][0]


def test_users_who_are_not_operators_cannot_train(alice_client, eth_hourly):
    response = alice_client.post(URL, {}, format="json")
    assert response.status_code == 403
    assert not TrainingRun.objects.exists()


def test_an_unknown_symbol_or_horizon_is_a_400_naming_it(api_client, operator, db):
    api_client.force_authenticate(operator)
    response = api_client.post(URL, {"symbols": ["NOPE"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["symbols"]
    response = api_client.post(URL, {"horizons": ["2h"]}, format="json")
    assert list(response.json()["error"]["details"]) == ["horizons"]


def test_the_schedule_trains_nightly_and_scores_every_five_minutes():
    entries = {e.task: e for e in default_schedule()}
    assert entries["forecasts.train_models"].cron == {"minute": "40", "hour": "2"}
    assert entries["forecasts.score_predictions"].every_seconds == 300
