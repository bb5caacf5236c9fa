"""A web process's copy of something kept in Redis, current through pub/sub.

`Follower` runs on a daemon thread: it subscribes to a channel pattern, waits for Redis
to confirm, calls `resync` (read the Redis copy whole: nothing published before the
subscription is missed), then hands each batch of published messages to `apply`, calls
`resync` again every `resync_seconds()` (what was changed without a publish shows within
that), and `resubscribed` (by default `resync`: what was published meanwhile is in the
copy) whenever redis-py has reconnected and resubscribed. On any failure it calls `lost`
(readers must stop trusting the copy) and subscribes again after `retry_seconds()`.
"""

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_BATCH = 1000  # messages handed to `apply` at most at once


class Follower:
    name = "follower"  # the thread's and the subscription's (CLIENT LIST) name

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # What a copy says: its Redis, its pattern, how to read it whole and apply messages.
    def location(self) -> str:
        raise NotImplementedError

    def pattern(self) -> str:
        raise NotImplementedError

    def resync(self) -> None:
        raise NotImplementedError

    def apply(self, frames: list[bytes]) -> None:
        raise NotImplementedError

    def lost(self) -> None:
        raise NotImplementedError

    def resubscribed(self) -> None:
        """redis-py reconnected and resubscribed: what was published meanwhile is lost."""
        self.resync()

    @property
    def live(self) -> bool:
        raise NotImplementedError

    def resync_seconds(self) -> float:
        return 1.0

    def retry_seconds(self) -> float:
        return 1.0

    def start(self) -> None:
        """Follows on a daemon thread of this process (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, name=self.name, daemon=True
            )
            self._thread.start()

    def run(self) -> None:
        """Follows until `stop`, subscribing again after any failure."""
        while not self._stop.is_set():
            try:
                self._follow()
            except (RedisError, OSError) as error:
                if self.live:
                    logger.warning("%s stopped: %s", self.name, error)
            except Exception:
                logger.exception("%s failed", self.name)
            self.lost()
            self._stop.wait(self.retry_seconds())

    def stop(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        subscriber = Redis.from_url(
            self.location(),
            socket_connect_timeout=1,
            health_check_interval=10,
            client_name=self.name,
        )
        pubsub = subscriber.pubsub()
        try:
            pubsub.psubscribe(self.pattern())
            while (message := pubsub.get_message(timeout=5)) is None or message[
                "type"
            ] != "psubscribe":
                if message is None:
                    raise RedisError("no subscription confirmed")
            self.resync()
            due = time.monotonic() + self.resync_seconds()
            while not self._stop.is_set():
                wait = min(1.0, max(0.0, due - time.monotonic()))  # `stop` within 1 s
                frames, resubscribed = [], False
                message = pubsub.get_message(timeout=wait)
                while message is not None:
                    if message["type"] == "pmessage":
                        frames.append(message["data"])
                    elif message["type"] == "psubscribe":
                        resubscribed = True
                    if len(frames) >= _BATCH:
                        break
                    message = pubsub.get_message(timeout=0)  # drain: one apply
                if frames:
                    self.apply(frames)
                if resubscribed:
                    self.resubscribed()
                    due = time.monotonic() + self.resync_seconds()
                elif time.monotonic() >= due:
                    self.resync()
                    due = time.monotonic() + self.resync_seconds()
        finally:
            pubsub.close()
            subscriber.close()
