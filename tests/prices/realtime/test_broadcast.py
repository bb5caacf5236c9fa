"""The publishing helpers the sync pipeline and alerts call."""

from django_redis import get_redis_connection

from analytics.alerts.delivery import publish_alert
from prices.latest import LatestPrice
from prices.realtime.broadcast import channel_prefix, publish_price
from tests import servers
from tests.servers import redis_at

PRICE = LatestPrice(
    symbol="BTC", price=1.0, quote="USD", as_of="2024-03-01T00:00:00Z", source="t"
)


def test_with_redis_down_publishing_loses_only_the_live_push(settings, caplog):
    redis_at(settings, f"redis://127.0.0.1:{servers.free_port()}/0")
    assert publish_price(PRICE) is None
    assert publish_alert(user_id=1, event={"x": 1}) is None
    assert "redis unavailable" in caplog.text


def test_messages_are_published_under_the_deployments_prefix(settings):
    settings.REALTIME_CHANNEL_PREFIX = "mp:test-prefix:"
    pubsub = get_redis_connection("default").pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(f"{channel_prefix()}*")
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    publish_alert(user_id=42, event={"alert_id": 9})
    message = pubsub.get_message(timeout=2)
    pubsub.close()
    assert message is not None
    assert message["channel"] == b"mp:test-prefix:alerts.42"
    assert message["data"] == b'{"type":"alert","event":{"alert_id":9}}'
