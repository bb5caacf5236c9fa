"""Rate limits in Redis, shared by every web process, with `X-RateLimit-*` headers.

A fixed-window counter: INCR + EXPIRE in Redis. (DRF's own SimpleRateThrottle keeps a
list of every request time in the window and rewrites it through the cache each time,
which grows with the limit.) Limits come from `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`
(env `THROTTLE_RATE_ANON` / `THROTTLE_RATE_USER`).

In the web server (`start_batching`, from asgi.py) the anonymous and user limits are
counted in the process and added to Redis in one pipeline every `RATE_LIMIT_BATCH_MS`
(`BatchedCounts`): a request that reads nothing else from Redis then costs no round
trip, where one round trip cost about as much as the rest of a latest-price request on
the bench machine. Within a process the count is exact; across processes each learns the
others' counts at its next flush, so a client spreading requests over P processes can
exceed its limit by what the other P - 1 admit in one interval. The login limit stays
counted in Redis on every request (exact: it guards passwords).
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponseBase
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module: no cycle at runtime
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


Read = tuple[str, tuple]  # a Redis command's name and arguments, to ride on a count


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int  # seconds until the window starts over


@dataclass(frozen=True, slots=True)
class Counted:
    """One request counted: its limit state (None when Redis is down: not enforced) and
    the replies of the reads that rode along, in order."""

    state: RateLimit | None
    allowed: bool
    replies: list[Any]


def _window(key: str, duration: int) -> tuple[str, int, int]:
    """The counter's Redis key, the window's start and now (epoch seconds)."""
    now = int(time.time())
    window = now - now % duration
    return f"mp:throttle:{key}:{window}", window, now


def count_request(
    key: str,
    *,
    limit: int,
    duration: int,
    reads: Sequence[Read] = (),
    batched: bool = False,
) -> Counted:
    """Counts one request of `key` in its fixed window, and runs `reads` (Redis command
    name, args) in the same round trip: a plain function, so the DRF throttle and the
    lean views share it with nothing passed through the request. `batched`: counted in
    the process when batching runs and there is nothing to read. Fails open."""
    counts = _batched
    if batched and not reads and counts is not None:
        return counts.count(key, limit=limit, duration=duration)
    counter, window, now = _window(key, duration)
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, duration + 1)
        for command, args in reads:
            getattr(pipe, command)(*args)
        count, _, *replies = pipe.execute()
    except RedisError:
        # A limit we cannot count is not worth refusing paying clients for.
        logger.warning("redis unavailable: rate limits not enforced")
        return Counted(None, True, [None] * len(reads))
    if counts is not None:
        count += counts.unflushed(counter)
    state = RateLimit(limit, max(0, limit - count), window + duration - now)
    return Counted(state, count <= limit, replies)


class _Tally:
    """One window's count in this process: what Redis said at the last flush (`known`,
    every process's requests), plus this process's requests since (`pending`), plus
    those of a flush under way (`flushing`)."""

    __slots__ = ("ends", "flushing", "known", "pending")

    def __init__(self, ends: int) -> None:
        self.ends = ends
        self.known = self.pending = self.flushing = 0


class BatchedCounts:
    """Fixed-window counts kept in this process and added to the shared Redis counters
    every `interval` seconds by `flush` (a daemon thread: `start_batching`)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._tallies: dict[str, _Tally] = {}
        self._redis_up = True

    def count(self, key: str, *, limit: int, duration: int) -> Counted:
        counter, window, now = _window(key, duration)
        with self._lock:
            tally = self._tallies.get(counter)
            if tally is None:
                tally = self._tallies[counter] = _Tally(window + duration)
            tally.pending += 1
            count = tally.known + tally.flushing + tally.pending
            redis_up = self._redis_up
        if not redis_up:  # as the unbatched path: not enforced without Redis
            return Counted(None, True, [])
        state = RateLimit(limit, max(0, limit - count), window + duration - now)
        return Counted(state, count <= limit, [])

    def unflushed(self, counter: str) -> int:
        with self._lock:
            tally = self._tallies.get(counter)
            return tally.pending + tally.flushing if tally else 0

    def flush(self) -> None:
        """Adds the pending counts to Redis (INCRBY, one pipeline) and learns the
        totals. With Redis down they are dropped, as the unbatched path drops them."""
        now = time.time()
        with self._lock:
            for counter in [c for c, t in self._tallies.items() if t.ends <= now]:
                del self._tallies[counter]
            batch = [(c, t, t.pending) for c, t in self._tallies.items() if t.pending]
            for _, tally, added in batch:
                tally.pending -= added
                tally.flushing += added
        if not batch:
            return
        try:
            pipe = get_redis_connection("default").pipeline(transaction=False)
            for counter, tally, added in batch:
                pipe.incrby(counter, added)
                pipe.expireat(counter, tally.ends + 1)
            totals = pipe.execute()[::2]
            up = True
        except RedisError:
            logger.warning("redis unavailable: rate limits not enforced")
            totals, up = [None] * len(batch), False
        with self._lock:
            self._redis_up = up
            for (_, tally, added), total in zip(batch, totals, strict=True):
                tally.flushing -= added
                if total is not None:
                    tally.known = int(total)

    def run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # never let the flusher die: counts would only grow
                logger.exception("rate-limit flush failed")


_batched: BatchedCounts | None = None


def start_batching(interval: float) -> BatchedCounts:
    """Counts this process's anonymous and user limits in memory from now on, flushed
    every `interval` seconds (the web server calls it once per process)."""
    global _batched
    if _batched is None:
        _batched = BatchedCounts(interval)
        threading.Thread(
            target=_batched.run, name="rate-limit-flush", daemon=True
        ).start()
    return _batched


def rate_limit_headers(response: HttpResponseBase, state: RateLimit) -> None:
    response["X-RateLimit-Limit"] = str(state.limit)
    response["X-RateLimit-Remaining"] = str(state.remaining)
    response["X-RateLimit-Reset"] = str(state.reset)


class RedisRateThrottle(SimpleRateThrottle):
    """Allows `num_requests` per `duration` window per client; fails open without Redis."""

    # Set by SimpleRateThrottle.__init__ from the rate (the stubs do not declare them).
    num_requests: int
    duration: int
    batched = True  # counted in the process where batching runs (module docstring)

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        counted = count_request(
            self.key,
            limit=self.num_requests,
            duration=self.duration,
            batched=self.batched,
        )
        if counted.state is None:
            return True
        self.reset = counted.state.reset
        django_request = request._request
        previous = getattr(django_request, "rate_limit", None)
        if previous is None or counted.state.remaining < previous.remaining:
            # For RateLimitHeadersMiddleware: the tightest of the throttles counted.
            django_request.rate_limit = counted.state  # type: ignore[attr-defined]
        return counted.allowed

    def wait(self) -> float:
        return float(self.reset)


class AnonThrottle(RedisRateThrottle):
    """Anonymous calls, per client IP."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return f"anon:{self.get_ident(request)}"


class UserThrottle(RedisRateThrottle):
    """Authenticated calls, per user: all of a user's API keys, tokens and sessions share
    one budget (a key per request would otherwise make a new budget per key)."""

    scope = "user"

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return f"user:{request.user.pk}"


class RateLimitHeadersMiddleware:
    """Copies the tightest limit a throttle counted into `X-RateLimit-*` headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        state: RateLimit | None = getattr(request, "rate_limit", None)
        if state is not None:
            rate_limit_headers(response, state)
        return response


class LoginThrottle(RedisRateThrottle):
    """Token requests, per client IP: a tight limit, so passwords cannot be guessed fast."""

    scope = "login"
    batched = False  # exact on every request: it guards passwords

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        return f"login:{self.get_ident(request)}"
