"""Per-process fan-out: one Redis pub/sub subscription, many local WebSocket connections.

Each web process subscribes once (a pattern on `channel_prefix()`); every message arrives
here once, already encoded, and is handed to the connections registered for its group
without decoding or re-encoding. Connections stay Channels consumers; they register with
`hub.add(group, subscriber)` and must implement `deliver(group, message)` without blocking.
"""

import asyncio
import logging
import time
from collections import defaultdict
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from prices.realtime import metrics
from prices.realtime.broadcast import channel_prefix

logger = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


class Subscriber(Protocol):
    def deliver(self, group: str, message: dict[str, str]) -> None: ...

    def feed_status(self, live: bool) -> None: ...


class Hub:
    """The process's one reader of the pub/sub feed and its registry of local subscribers."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self.live = False
        self._task: asyncio.Task[None] | None = None
        self._first_attempt: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Starts the reader once per process; returns when the subscription is active (or
        its first attempt failed: clients then get the stored prices and a status)."""
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._first_attempt = loop.create_future()
            self._task = loop.create_task(self._run(), name="prices-fanout")
        assert self._first_attempt is not None
        await asyncio.shield(self._first_attempt)

    def add(self, group: str, subscriber: Subscriber) -> None:
        self.subscribers[group].add(subscriber)

    def discard(self, group: str, subscriber: Subscriber) -> None:
        members = self.subscribers.get(group)
        if members is not None:
            members.discard(subscriber)
            if not members:
                del self.subscribers[group]

    def dispatch(self, group: str, frame: str) -> None:
        # One ASGI message for all: connections share it, nothing is encoded per client.
        message = {"type": "websocket.send", "text": frame}
        started = time.perf_counter()
        # A copy: a subscriber cut off as too slow unregisters itself while we loop.
        receivers = tuple(self.subscribers.get(group, ()))
        for subscriber in receivers:
            subscriber.deliver(group, message)
        if receivers:
            # Once per message and process, not per socket (the hot path).
            metrics.fanout_seconds.observe(time.perf_counter() - started)
            metrics.fanout_subscribers.inc(len(receivers))

    def _set_live(self, live: bool) -> None:
        if live == self.live:
            return
        self.live = live
        everyone = {s for members in self.subscribers.values() for s in members}
        for subscriber in everyone:
            subscriber.feed_status(live)

    def _first_attempt_done(self) -> None:
        if self._first_attempt is not None and not self._first_attempt.done():
            self._first_attempt.set_result(None)

    async def _run(self) -> None:
        prefix = channel_prefix()
        failures = 0
        while True:
            client = aioredis.from_url(
                settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=15
            )
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(f"{prefix}*")
                # Wait for Redis to confirm: only then is a publish sure to reach us.
                while (await pubsub.get_message(timeout=5)) is None:
                    pass
                failures = 0
                self._set_live(True)
                self._first_attempt_done()
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    group = message["channel"][len(prefix) :].decode()
                    self.dispatch(group, message["data"].decode())
            except Exception as exc:
                # Whatever broke, the feed must come back: log it and start over.
                if isinstance(exc, RedisError | OSError):
                    logger.warning("live feed lost (%s): reconnecting", exc)
                else:
                    logger.exception("live feed failed: reconnecting")
                self._set_live(False)
                self._first_attempt_done()
                await asyncio.sleep(
                    RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                )
                failures += 1
            finally:
                await pubsub.aclose()
                await client.aclose()


hub = Hub()
