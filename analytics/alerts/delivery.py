"""Delivering alert events: live to the owner's `/ws/alerts/` connections at once, to
their webhooks and by email through Celery (after the firing commits)."""

import logging
from datetime import UTC, datetime
from typing import Any, TypedDict

import orjson
from celery import current_app
from django.db import transaction

from analytics.alerts.models import (
    AlertEvent,
    Channel,
    WebhookDelivery,
    WebhookEndpoint,
)
from prices.realtime.broadcast import alert_group, publish

logger = logging.getLogger(__name__)


class AlertMessage(TypedDict):
    type: str  # "alert"
    event: dict[str, Any]


def publish_alert(*, user_id: int, event: dict[str, Any]) -> int | None:
    """Sends one alert event to the user's open `/ws/alerts/` connections, nobody else's
    (None when Redis is down)."""
    message = AlertMessage(type="alert", event=event)
    return publish(alert_group(user_id), orjson.dumps(message, option=orjson.OPT_UTC_Z))


def event_payload(event: AlertEvent) -> dict[str, Any]:
    """The event as the API, the WebSocket and webhooks show it."""
    return {
        "id": event.pk,
        "alert": event.alert_id,
        "symbol": event.symbol,
        "kind": event.condition.get("kind"),
        "fired_at": event.fired_at,
        "price": event.price,
        "value": event.value,
        "message": event.message,
        "condition": event.condition,
        "source": event.source,
        "created_at": event.created_at,
    }


def queue(events: list[AlertEvent]) -> None:
    """Inside the firing's transaction: one delivery row per event and enabled webhook
    of its owner (if the alert asks for webhooks), then, once committed, the push and
    the Celery tasks."""
    hooked = [e for e in events if Channel.WEBHOOK in e.alert.channels]
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        user_id__in={e.user_id for e in hooked}, enabled=True
    ):
        endpoints.setdefault(endpoint.user_id, []).append(endpoint)
    deliveries = [
        WebhookDelivery(endpoint=endpoint, event=event)
        for event in hooked
        for endpoint in endpoints.get(event.user_id, [])
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    delivery_ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _after_commit(events, delivery_ids))


def _after_commit(events: list[AlertEvent], delivery_ids: list[int]) -> None:
    for event in events:
        listeners = publish_alert(user_id=event.user_id, event=event_payload(event))
        event.deliveries["websocket"] = (
            {"status": "published", "processes": listeners, "at": _now()}
            if listeners is not None
            else {"status": "failed", "error": "redis unavailable", "at": _now()}
        )
        if Channel.EMAIL in event.alert.channels:
            event.deliveries["email"] = {"status": "queued"}
    AlertEvent.objects.bulk_update(events, ["deliveries"])
    for event in events:
        if Channel.EMAIL in event.alert.channels:
            _send("alerts.send_email", event.pk)
    for pk in delivery_ids:
        _send("alerts.deliver_webhook", pk)


def _send(task: str, pk: int) -> None:
    """A broker outage loses the message, not the firing: the event and its pending
    deliveries are stored (`retry_pending_webhooks` picks them up again)."""
    try:
        current_app.send_task(task, args=[pk])
    except Exception:  # kombu's connection errors vary by transport
        logger.warning("broker unavailable: %s(%s) not sent", task, pk)


def _now() -> str:
    return datetime.now(UTC).isoformat()
