"""Request id, timing and the access log: one middleware, so every response carries them."""

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from marketpulse import logs

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("marketpulse.access")

# A client may pass its own id (to correlate across services) if it is short and plain.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdLogFilter(logging.Filter):
    only_fills_request_id = True  # marketpulse.logs.LineHandler relies on it

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Sets `X-Request-ID` and `Server-Timing` on every response and logs one access line."""

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable]
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(
        self, request: HttpRequest
    ) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        started = self._start(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)  # the sync chain
        return self._finish(request, response, started)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = self._start(request)
        response = await self.get_response(request)  # type: ignore[misc]
        return self._finish(request, response, started)

    def _start(self, request: HttpRequest) -> float:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _CLIENT_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_var.set(request_id)
        return time.perf_counter()

    def _finish(
        self, request: HttpRequest, response: HttpResponseBase, started: float
    ) -> HttpResponseBase:
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        timing = f"app;dur={elapsed_ms:.1f}"
        if "Server-Timing" in response:
            timing = f"{response['Server-Timing']}, {timing}"
        response["Server-Timing"] = timing
        if access_log.isEnabledFor(logging.INFO):
            # What `.info()` does, without its walk up the stack for the caller's file
            # and line, which the JSON line does not carry: a third of the line's cost.
            fields = {
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed_ms, 2),
            }
            if (deferred := logs.access_handler) is not None:  # the web server
                deferred.defer_access(time.time(), fields, request.request_id)  # type: ignore[attr-defined]
                return response
            access_log.handle(
                access_log.makeRecord(
                    access_log.name, logging.INFO, "", 0, "request", (), None,
                    extra=fields,
                )
            )  # fmt: skip
        return response
