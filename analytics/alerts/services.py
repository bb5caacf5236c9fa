"""Writes of alerts and webhook endpoints (the API and the admin call these)."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from analytics.alerts import conditions, webhooks
from analytics.alerts.models import Alert, Channel, WebhookEndpoint
from assets.models import Asset
from marketpulse.errors import InvalidInput, MarketPulseError

RULE_FIELDS = ("kind", *sorted(conditions.CONDITION_FIELDS))


def _check_channels(user: Any, channels: Any) -> list[str]:
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise InvalidInput(field="channels", message="A list of channel names.")
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise InvalidInput(
            field="channels",
            message=f"Unknown {sorted(unknown)}; the WebSocket is always on, add "
            f"{' or '.join(Channel.values)}.",
        )
    if Channel.EMAIL in channels and not user.email:
        raise InvalidInput(
            field="channels", message="Your account has no email address."
        )
    return sorted(set(channels))


def _apply(alert: Alert, fields: dict[str, Any]) -> None:
    """Checks the rule as it will be and writes it, engine columns included."""
    rule = {f: fields.get(f, getattr(alert, f, None)) for f in RULE_FIELDS}
    if "kind" in fields and fields["kind"] != alert.kind:
        # A new kind starts from a blank condition: the old kind's fields do not carry.
        rule = {"kind": fields["kind"], **{f: fields.get(f) for f in RULE_FIELDS[1:]}}
    checked = conditions.check_rule(rule)
    for field in conditions.CONDITION_FIELDS:
        setattr(alert, field, checked.get(field, conditions.BLANK[field]))
    alert.kind = str(rule["kind"])
    for field in ("metric", "op", "threshold", "rearm_threshold"):
        setattr(alert, field, checked[field])
    if "cooldown" in fields:
        alert.cooldown = conditions.check_cooldown(fields["cooldown"])
    if "channels" in fields:
        alert.channels = _check_channels(alert.user, fields["channels"])
    for field in ("note", "enabled"):
        if field in fields:
            setattr(alert, field, fields[field])
    if "asset" in fields:
        alert.asset = fields["asset"]


def _arm(alert: Alert) -> None:
    """Armed unless the condition already holds (then the next crossing fires it, not
    this moment); transitions before the value's time are ignored from now on."""
    alert.armed, alert.state_at, alert.rearm_at = True, None, None
    if alert.op == "event":
        return
    now = conditions.current_value(alert)
    if now is not None:
        value, at = now
        alert.armed = not conditions.is_true(alert, value)
        alert.state_at = at


def create_alert(*, user: User, asset: Asset, fields: dict[str, Any]) -> Alert:
    with transaction.atomic():
        # One at a time per user, so two requests cannot both take the last place.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if Alert.objects.filter(user=user).count() >= settings.ALERTS_MAX_PER_USER:
            raise MarketPulseError(
                code="limit_exceeded",
                message=f"At most {settings.ALERTS_MAX_PER_USER} alerts per user; "
                "delete one first.",
            )
        alert = Alert(user=user, asset=asset)
        _apply(alert, fields)
        _arm(alert)
        alert.save()
    return alert


def update_alert(*, alert: Alert, fields: dict[str, Any]) -> Alert:
    """A changed rule, asset or re-enabling starts over (armed unless already true)."""
    before = (alert.asset_id, alert.metric, alert.op, alert.threshold, alert.enabled)
    _apply(alert, fields)
    after = (alert.asset_id, alert.metric, alert.op, alert.threshold, alert.enabled)
    if after != before and alert.enabled:
        _arm(alert)
    alert.save()
    return alert


def delete_alert(*, alert: Alert) -> None:
    alert.delete()


def create_webhook(*, user: User, url: str) -> WebhookEndpoint:
    if (
        WebhookEndpoint.objects.filter(user=user).count()
        >= settings.WEBHOOKS_MAX_PER_USER
    ):
        raise MarketPulseError(
            code="limit_exceeded",
            message=f"At most {settings.WEBHOOKS_MAX_PER_USER} webhooks per user.",
        )
    return WebhookEndpoint.objects.create(
        user=user, url=webhooks.check_url(url), secret=webhooks.new_secret()
    )


def update_webhook(
    *, endpoint: WebhookEndpoint, fields: dict[str, Any]
) -> WebhookEndpoint:
    if "url" in fields:
        endpoint.url = webhooks.check_url(fields["url"])
    if "enabled" in fields:
        if fields["enabled"] and not endpoint.enabled:
            # Enabled again by its owner: a fresh count, the old reason kept no more.
            endpoint.failures, endpoint.disabled_reason, endpoint.disabled_at = (
                0,
                "",
                None,
            )
        endpoint.enabled = fields["enabled"]
    endpoint.save()
    return endpoint


def rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = webhooks.new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint
