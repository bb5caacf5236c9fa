"""Celery edges of alerts: ids and ISO times in, never instances; each safe to run twice."""

from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from analytics.alerts import evaluate, webhooks
from analytics.alerts.models import AlertEvent, DeliveryStatus, WebhookDelivery
from prices.intervals import DURATIONS


@shared_task(name="alerts.evaluate_candles", acks_late=True)
def evaluate_candles(asset_id: int, interval: str, start: str, end: str) -> int:
    """Indicator alerts after candles of [start, end] were written (settings
    CANDLE_WRITE_TASKS): checked on the last candle closed by the end of the write."""
    until = datetime.fromisoformat(end) + DURATIONS.get(interval, timedelta(0))
    return len(evaluate.check_candles(asset_id=asset_id, until=until))


def backoff(attempts: int) -> float:
    """Seconds before the next attempt: BASE, 2 BASE, 4 BASE..."""
    return float(settings.ALERT_WEBHOOK_RETRY_BASE * 2 ** max(0, attempts - 1))


@shared_task(name="alerts.deliver_webhook", bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    """One attempt; a failure is retried with backoff until ALERT_WEBHOOK_MAX_ATTEMPTS
    (or until the endpoint is disabled)."""
    delivery = webhooks.attempt(delivery_id)
    if delivery is None:
        return "nothing to send"
    if delivery.status == DeliveryStatus.PENDING:
        raise self.retry(countdown=backoff(delivery.attempts))
    return str(delivery.status)


@shared_task(name="alerts.retry_pending_webhooks")
def retry_pending_webhooks() -> int:
    """Re-sends deliveries left pending (a lost message, a worker restart) for longer
    than the longest backoff; a delivery already sent is not pending, so none doubles."""
    longest = (
        backoff(settings.ALERT_WEBHOOK_MAX_ATTEMPTS) + settings.ALERT_WEBHOOK_TIMEOUT
    )
    stale = datetime.now(UTC) - timedelta(seconds=longest + 60)
    pending = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, endpoint__enabled=True, created_at__lt=stale
    ).exclude(last_attempt_at__gte=stale)
    ids = list(pending.values_list("pk", flat=True)[:1000])
    for pk in ids:
        deliver_webhook.delay(pk)
    return len(ids)


@shared_task(name="alerts.send_email", acks_late=True)
def send_email(event_id: int) -> str:
    event = AlertEvent.objects.select_related("user").filter(pk=event_id).first()
    if event is None:
        return "no such event"
    if event.deliveries.get("email", {}).get("status") == "sent":
        return "sent before"
    address = event.user.email
    if not address:
        result = {"status": "skipped", "error": "the user has no email address"}
    else:
        try:
            send_mail(
                subject=f"MarketPulse alert: {event.message}"[:200],
                message=f"{event.message}\n\n{event.condition.get('description', '')}\n"
                f"Fired at {event.fired_at:%Y-%m-%d %H:%M:%S} UTC.",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[address],
            )
            result = {"status": "sent", "to": address}
        except OSError as error:  # SMTP refused or unreachable
            result = {"status": "failed", "error": str(error)[:200]}
    event.deliveries["email"] = {**result, "at": datetime.now(UTC).isoformat()}
    AlertEvent.objects.filter(pk=event.pk).update(deliveries=event.deliveries)
    return result["status"]
