"""The HTTP client every provider uses: timeouts, retries with backoff, rate limits.

Retries (tenacity) cover timeouts, connection errors, 5xx and 429; a 429's `Retry-After`
is honoured exactly when it is short enough, otherwise the provider counts as unavailable
so the sync falls back at once instead of blocking a worker.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from django.conf import settings
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from prices.ingest import metrics
from prices.ingest.providers.base import ProviderDataError, ProviderUnavailable

logger = logging.getLogger(__name__)


class _Retryable(Exception):
    def __init__(
        self, message: str, retry_after: float | None = None, status: str = ""
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class RateLimit:
    """At most `per_minute` calls a minute from this process, spaced evenly."""

    per_minute: float
    _next_at: float = 0.0
    _lock: threading.Lock = threading.Lock()  # noqa: RUF009 (one lock per instance below)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None]) -> None:
        with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next_at - now)
            self._next_at = max(now, self._next_at) + 60.0 / self.per_minute
        if delay:
            sleep(delay)


# One limiter per provider and process, shared by every client of that provider, so the
# spacing holds across sync runs too. (Across worker processes each keeps its own pace:
# set *_RATE_PER_MINUTE to the documented limit divided by the worker count.)
_LIMITS: dict[tuple[str, float], RateLimit] = {}
_LIMITS_LOCK = threading.Lock()


def rate_limit_for(provider: str, per_minute: float) -> RateLimit:
    with _LIMITS_LOCK:
        return _LIMITS.setdefault((provider, per_minute), RateLimit(per_minute))


class HttpClient:
    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: dict[str, str] | None = None,
        rate_per_minute: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.rate_limit = rate_limit_for(provider, rate_per_minute)
        self.sleep = sleep
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(
                settings.PROVIDER_READ_TIMEOUT,
                connect=settings.PROVIDER_CONNECT_TIMEOUT,
            ),
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        backoff = wait_exponential_jitter(
            multiplier=settings.PROVIDER_BACKOFF_SECONDS,
            max=settings.PROVIDER_MAX_BACKOFF_SECONDS,
            jitter=settings.PROVIDER_BACKOFF_SECONDS,
        )
        return float(backoff(state))

    def _get_once(self, path: str, params: dict[str, Any] | None) -> httpx.Response:
        self.rate_limit.wait(self.sleep)
        started = time.perf_counter()
        try:
            response = self.client.get(path, params=params)
        except httpx.TimeoutException as exc:
            self._observe(started, "timeout")
            raise _Retryable(f"timeout: {exc!r}", status="timeout") from exc
        except httpx.TransportError as exc:
            self._observe(started, "connection")
            raise _Retryable(
                f"connection failed: {exc!r}", status="connection"
            ) from exc
        self._observe(started, str(response.status_code))
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > settings.PROVIDER_MAX_RETRY_AFTER:
                metrics.provider_errors.labels(self.provider, "429").inc()
                raise ProviderUnavailable(
                    f"{self.provider}: rate limited for {wait:.0f}s (Retry-After)"
                )
            raise _Retryable("429 rate limited", retry_after=wait, status="429")
        if response.status_code >= 500:
            raise _Retryable(
                f"HTTP {response.status_code}", status=str(response.status_code)
            )
        return response

    def _observe(self, started: float, status: str) -> None:
        metrics.provider_request_seconds.labels(self.provider).observe(
            time.perf_counter() - started
        )
        metrics.provider_responses.labels(self.provider, status).inc()

    def _before_sleep(self, path: str, state: RetryCallState) -> None:
        metrics.provider_retries.labels(self.provider).inc()
        logger.warning(
            "provider retry",
            extra={
                "provider": self.provider,
                "path": path,
                "attempt": state.attempt_number,
                "reason": str(state.outcome.exception()) if state.outcome else "",
            },
        )

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON body of a 2xx answer; ProviderError subclasses otherwise."""
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(settings.PROVIDER_MAX_ATTEMPTS),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda state: self._before_sleep(path, state),
        )
        try:
            response = retrying(self._get_once, path, params)
        except _Retryable as exc:
            metrics.provider_errors.labels(self.provider, exc.status).inc()
            raise ProviderUnavailable(
                f"{self.provider} {path}: {exc} after "
                f"{settings.PROVIDER_MAX_ATTEMPTS} attempts"
            ) from exc
        if response.status_code >= 400:
            metrics.provider_errors.labels(
                self.provider, str(response.status_code)
            ).inc()
            raise ProviderUnavailable(
                f"{self.provider} {path}: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            metrics.provider_errors.labels(self.provider, "malformed").inc()
            raise ProviderDataError(f"{self.provider} {path}: malformed JSON") from exc

    def close(self) -> None:
        self.client.close()
