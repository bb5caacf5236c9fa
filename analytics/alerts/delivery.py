"""Delivering alert events: live to the owner's `/ws/alerts/` connections."""

from typing import Any, TypedDict

import orjson

from prices.realtime.broadcast import alert_group, publish


class AlertMessage(TypedDict):
    type: str  # "alert"
    event: dict[str, Any]


def publish_alert(*, user_id: int, event: dict[str, Any]) -> int | None:
    """Sends one alert event to the user's open `/ws/alerts/` connections, nobody else's
    (None when Redis is down)."""
    message = AlertMessage(type="alert", event=event)
    return publish(alert_group(user_id), orjson.dumps(message))
