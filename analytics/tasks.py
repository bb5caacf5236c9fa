"""Celery edges around `analytics.anomalies`: ids, names and ISO times, never instances."""

from datetime import datetime
from typing import Any

from celery import shared_task

from analytics import anomalies


@shared_task(name="analytics.detect_anomalies", acks_late=True)
def detect_anomalies(asset_id: int, interval: str, start: str, end: str) -> int:
    """Checks the candles written in [start, end]; safe to run twice (idempotent).
    Sent by `prices.services.upsert_candles` (settings.CANDLE_WRITE_TASKS)."""
    return len(
        anomalies.detect_anomalies(
            asset_id=asset_id,
            interval=interval,
            start=datetime.fromisoformat(start),
            end=datetime.fromisoformat(end),
        )
    )


@shared_task(name="analytics.record_price_disagreements", acks_late=True)
def record_price_disagreements(items: list[dict[str, Any]]) -> int:
    """Records providers' disagreements the sync saw; safe to run twice."""
    return len(anomalies.record_price_disagreements(items=items))
