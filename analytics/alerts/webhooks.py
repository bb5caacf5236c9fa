"""Webhook endpoints: URL checks (SSRF), signing, one delivery attempt.

Each POST carries the event as JSON and `MarketPulse-Signature: t=<unix seconds>,v1=<hex>`
where v1 = HMAC-SHA256(secret, "<t>.<body>") (Stripe's scheme): a receiver recomputes
it and rejects a stale `t` (replays). Redirects are not followed, and the address is
checked again at send time (a name may resolve elsewhere later).
"""

import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F

from analytics.alerts import metrics
from analytics.alerts.delivery import event_payload
from analytics.alerts.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from marketpulse.errors import InvalidInput

SIGNATURE_HEADER = "MarketPulse-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def refusal(url: str) -> str | None:
    """Why this URL may not receive webhooks (None: it may): http(s) only, and, unless
    ALERT_WEBHOOK_ALLOW_PRIVATE, no host resolving to a loopback, private, link-local,
    multicast or reserved address (cloud metadata, the service's own databases)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Must be an http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "Must not carry credentials; the signature authenticates us."
    if settings.ALERT_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return f"The host {parts.hostname!r} does not resolve."
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return (
                f"{parts.hostname} resolves to {address}, a non-public address "
                "(set ALERT_WEBHOOK_ALLOW_PRIVATE to allow it)."
            )
    return None


def check_url(url: str) -> str:
    reason = refusal(url)
    if reason:
        raise InvalidInput(field="url", message=reason)
    return url


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    status_code: int | None
    error: str


def post(endpoint: WebhookEndpoint, body: bytes, *, event_id: int) -> Attempt:
    reason = refusal(endpoint.url)
    if reason:
        return Attempt(False, None, reason)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MarketPulse-Webhooks/1",
        SIGNATURE_HEADER: sign(endpoint.secret, body, timestamp),
        "MarketPulse-Event-Id": str(event_id),
    }
    try:
        response = httpx.post(
            endpoint.url,
            content=body,
            headers=headers,
            timeout=settings.ALERT_WEBHOOK_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return Attempt(False, None, f"{type(error).__name__}: {error}"[:300])
    if 200 <= response.status_code < 300:
        return Attempt(True, response.status_code, "")
    return Attempt(False, response.status_code, f"HTTP {response.status_code}")


def attempt(delivery_id: int) -> WebhookDelivery | None:
    """One attempt of a pending delivery; records it on the delivery and the endpoint
    (consecutive failures; ALERT_WEBHOOK_DISABLE_AFTER of them disable the endpoint,
    with the reason). Returns the delivery, or None when there is nothing to send."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint", "event")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING, endpoint__enabled=True)
        .first()
    )
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    body = orjson.dumps(
        {"type": "alert", "event": event_payload(event)}, option=orjson.OPT_UTC_Z
    )
    result = post(endpoint, body, event_id=event.pk)
    metrics.webhook_attempts.labels("delivered" if result.ok else "failed").inc()
    now = datetime.now(UTC)
    with transaction.atomic():
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.status_code = result.status_code
        delivery.error = result.error
        if result.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                failures=0, last_success_at=now
            )
        else:
            disabled = _count_failure(endpoint, result, now)
            if disabled or delivery.attempts >= settings.ALERT_WEBHOOK_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
        delivery.save()
    return delivery


def _count_failure(endpoint: WebhookEndpoint, result: Attempt, now: datetime) -> bool:
    """Counts a failed attempt; True when it disabled the endpoint."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures=F("failures") + 1)
    endpoint.refresh_from_db(fields=["failures", "enabled"])
    limit = settings.ALERT_WEBHOOK_DISABLE_AFTER
    if endpoint.enabled and endpoint.failures >= limit:
        last = result.error or "no answer"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            enabled=False,
            disabled_at=now,
            disabled_reason=(
                f"Disabled after {endpoint.failures} failed attempts in a row "
                f"(the last: {last}). Fix the receiver, then enable it again."
            )[:300],
        )
        # Nothing more goes to a disabled endpoint.
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.FAILED, error="endpoint disabled")
        metrics.webhooks_disabled.inc()
        return True
    return False
