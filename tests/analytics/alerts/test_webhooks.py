"""Webhook delivery against a real local receiver: signed POSTs, retries with backoff,
the delivery log, disabling an endpoint that keeps failing, SSRF at send time."""

import time

import orjson
import pytest

from analytics.alerts import tasks, webhooks
from analytics.alerts.models import AlertEvent, DeliveryStatus, WebhookDelivery
from prices.ingest.manual import record_manual_price
from tests.analytics.alerts.receiver import verify, webhook_receiver
from tests.factories import AlertFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_ok(settings):  # type: ignore[no-untyped-def]
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1


def fire(alice, btc, price: float = 101.0) -> AlertEvent:  # type: ignore[no-untyped-def]
    AlertFactory(user=alice, asset=btc, level=100, channels=["webhook"])
    record_manual_price(asset=btc, price=price, as_of=_now(), user=None)
    return AlertEvent.objects.get()


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_an_event_is_posted_signed_with_the_endpoints_secret(
    alice, btc, private_ok, django_capture_on_commit_callbacks
):
    with webhook_receiver() as receiver:
        endpoint = WebhookEndpointFactory(user=alice, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=False):
            event = fire(alice, btc)
        [delivery] = WebhookDelivery.objects.all()
        assert (delivery.endpoint_id, delivery.event_id) == (endpoint.pk, event.pk)
        assert tasks.deliver_webhook.apply(args=[delivery.pk]).get() == "delivered"
    [(headers, body)] = receiver.requests
    signed_at = verify(endpoint.secret, headers, body)
    assert abs(signed_at - time.time()) < 60
    assert headers["MarketPulse-Event-Id"] == str(event.pk)
    payload = orjson.loads(body)
    assert payload["type"] == "alert"
    assert payload["event"]["id"] == event.pk
    assert payload["event"]["price"] == 101.0
    assert payload["event"]["symbol"] == "BTC"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.status_code) == (
        "delivered", 1, 200,
    )  # fmt: skip
    with pytest.raises(AssertionError):  # another secret does not verify
        verify("whsec_other", headers, body)


def test_other_users_endpoints_and_alerts_without_the_channel_get_nothing(
    alice, bob, btc, private_ok
):
    WebhookEndpointFactory(user=bob, url="http://127.0.0.1:9/")
    AlertFactory(user=alice, asset=btc, level=100)  # websocket only
    WebhookEndpointFactory(user=alice, url="http://127.0.0.1:9/")
    record_manual_price(asset=btc, price=101, as_of=_now(), user=None)
    assert AlertEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 0


def test_a_failing_receiver_is_retried_with_backoff_then_the_delivery_fails(
    alice, btc, private_ok, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_WEBHOOK_MAX_ATTEMPTS = 3
    with webhook_receiver(500, 503, 502) as receiver:
        WebhookEndpointFactory(user=alice, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=False):
            fire(alice, btc)
        delivery = WebhookDelivery.objects.get()
        for attempt in (1, 2):
            assert webhooks.attempt(delivery.pk).status == "pending"
            assert tasks.backoff(attempt) == settings.ALERT_WEBHOOK_RETRY_BASE * 2 ** (
                attempt - 1
            )
        assert webhooks.attempt(delivery.pk).status == "failed"
        assert webhooks.attempt(delivery.pk) is None  # nothing more is sent
    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.status_code, delivery.error) == (
        3,
        502,
        "HTTP 502",
    )


def test_the_task_retries_until_delivered(
    alice, btc, private_ok, settings, django_capture_on_commit_callbacks
):
    """Eager Celery runs the retries in place (no countdown)."""
    with webhook_receiver(500, 500) as receiver:
        WebhookEndpointFactory(user=alice, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=False):
            fire(alice, btc)
        delivery = WebhookDelivery.objects.get()
        from marketpulse.celery import app

        app.conf.task_always_eager = True
        try:
            tasks.deliver_webhook.delay(delivery.pk)
        finally:
            app.conf.task_always_eager = False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert delivery.endpoint.failures == 0  # a success resets the count


def test_an_endpoint_that_keeps_failing_is_disabled_and_says_why(
    alice, alice_client, btc, private_ok, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_WEBHOOK_DISABLE_AFTER = 4
    settings.ALERT_WEBHOOK_MAX_ATTEMPTS = 3
    with webhook_receiver(*[500] * 10) as receiver:
        endpoint = WebhookEndpointFactory(user=alice, url=receiver.url)
        AlertFactory(user=alice, asset=btc, level=100, channels=["webhook"])
        with django_capture_on_commit_callbacks(execute=False):
            for price in (101, 99, 102):  # fires, re-arms, fires
                record_manual_price(asset=btc, price=price, as_of=_now(), user=None)
        first, second = WebhookDelivery.objects.order_by("id")
        for _ in range(3):
            webhooks.attempt(first.pk)
        assert webhooks.attempt(second.pk).status == "failed"  # the 4th failure
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "4 failed attempts in a row" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    shown = alice_client.get(f"/api/v1/alerts/webhooks/{endpoint.pk}/").json()
    assert shown["enabled"] is False
    assert shown["disabled_reason"] == endpoint.disabled_reason
    log = alice_client.get(f"/api/v1/alerts/webhooks/{endpoint.pk}/deliveries/").json()
    assert [(d["status"], d["attempts"]) for d in log["results"]] == [
        ("failed", 1), ("failed", 3),
    ]  # fmt: skip
    # Enabled again by its owner: a fresh count.
    alice_client.patch(
        f"/api/v1/alerts/webhooks/{endpoint.pk}/", {"enabled": True}, format="json"
    )
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.failures, endpoint.disabled_reason) == (
        True,
        0,
        "",
    )


def test_an_address_that_turned_private_is_refused_at_send_time(
    alice, btc, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    WebhookEndpointFactory(user=alice, url="http://127.0.0.1:9/hook")  # as if rebound
    with django_capture_on_commit_callbacks(execute=False):
        fire(alice, btc)
    delivery = webhooks.attempt(WebhookDelivery.objects.get().pk)
    assert delivery.status_code is None
    assert "non-public address" in delivery.error
