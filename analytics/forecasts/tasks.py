"""Celery edges around `analytics.forecasts.services`: ids, names and ISO times only."""

from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction

from analytics.forecasts import services
from analytics.forecasts.models import TrainingRun


@shared_task(name="forecasts.train_models", acks_late=True, time_limit=3600)
def train_models(
    run_id: int | None = None,
    symbols: list[str] | None = None,
    horizons: list[str] | None = None,
) -> str:
    """Trains one run (a new one when scheduled, run_id None). A redelivered run that
    is no longer queued is a no-op."""
    with transaction.atomic():
        if run_id is None:
            run = TrainingRun.objects.create(
                params={"symbols": symbols, "horizons": horizons, "scheduled": True}
            )
        else:
            run = TrainingRun.objects.select_for_update().get(pk=run_id)
            if run.status != TrainingRun.Status.QUEUED:
                return run.status
            run.status = TrainingRun.Status.RUNNING
            run.save(update_fields=["status"])
    params = run.params
    done = services.train_models(
        run=run,
        symbols=params.get("symbols") or symbols,
        horizons=params.get("horizons") or horizons,
    )
    return done.status


def queue_training(
    *, symbols: list[str] | None, horizons: list[str] | None, user_id: int | None
) -> TrainingRun:
    """Records a queued run and sends it once the transaction commits."""
    run = TrainingRun.objects.create(
        params={"symbols": symbols, "horizons": horizons}, requested_by_id=user_id
    )
    transaction.on_commit(lambda: train_models.delay(run_id=run.pk))
    return run


@shared_task(name="forecasts.score_predictions", acks_late=True, time_limit=600)
def score_predictions() -> int:
    """Scores every due prediction it can; safe to run twice (idempotent)."""
    return services.score_predictions()


@shared_task(name="forecasts.score_written_candles", acks_late=True, time_limit=600)
def score_written_candles(asset_id: int, interval: str, start: str, end: str) -> int:
    """Sent after candles are written (settings.CANDLE_WRITE_TASKS) with the open times
    of the first and last: replayed or backfilled candles score the asset's late
    predictions whose targets they close (up to a day after the last, for daily
    candles built from them). Idempotent."""
    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return services.score_predictions(
        asset_id=asset_id, targets=(first, last + timedelta(days=1))
    )
