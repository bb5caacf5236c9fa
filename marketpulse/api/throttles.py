"""Rate limits in Redis, shared by every web process, with `X-RateLimit-*` headers.

A fixed-window counter: one INCR + EXPIRE round trip per request. (DRF's own
SimpleRateThrottle keeps a list of every request time in the window and rewrites it
through the cache each time, which grows with the limit.) Limits come from
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (env `THROTTLE_RATE_ANON` / `THROTTLE_RATE_USER`).
"""

import logging
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


def count_request(
    key: str, *, limit: int, duration: int, reads: Sequence[Read] = ()
) -> Counted:
    """Counts one request of `key` in its fixed window, and runs `reads` (Redis command
    name, args) in the same round trip: a plain function, so the DRF throttle and the
    lean views share it with nothing passed through the request. Fails open."""
    now = int(time.time())
    window = now - now % duration
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.incr(f"mp:throttle:{key}:{window}")
        pipe.expire(f"mp:throttle:{key}:{window}", duration + 1)
        for command, args in reads:
            getattr(pipe, command)(*args)
        count, _, *replies = pipe.execute()
    except RedisError:
        # A limit we cannot count is not worth refusing paying clients for.
        logger.warning("redis unavailable: rate limits not enforced")
        return Counted(None, True, [None] * len(reads))
    state = RateLimit(limit, max(0, limit - count), window + duration - now)
    return Counted(state, count <= limit, replies)


def rate_limit_headers(response: HttpResponseBase, state: RateLimit) -> None:
    response["X-RateLimit-Limit"] = str(state.limit)
    response["X-RateLimit-Remaining"] = str(state.remaining)
    response["X-RateLimit-Reset"] = str(state.reset)


class RedisRateThrottle(SimpleRateThrottle):
    """Allows `num_requests` per `duration` window per client; fails open without Redis."""

    # Set by SimpleRateThrottle.__init__ from the rate (the stubs do not declare them).
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        counted = count_request(
            self.key, limit=self.num_requests, duration=self.duration
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

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        return f"login:{self.get_ident(request)}"
