"""WebSocket consumers (DESIGN.md, WebSocket protocol); `prices/routing.py` maps the URLs."""

from prices.realtime.consumers.live import AlertStreamConsumer, PriceStreamConsumer
from prices.realtime.consumers.replay import ReplayConsumer

__all__ = ["AlertStreamConsumer", "PriceStreamConsumer", "ReplayConsumer"]
