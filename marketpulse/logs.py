"""One JSON object per log line, written with orjson.

What python-json-logger wrote (time, level, logger, message, request_id, every `extra`
field, the exception's traceback), at a fraction of its cost: the access line is written
on every request, and the standard library's JSON encoder made it a measurable share of
a cached response's time (issue 17).
"""

import atexit
import logging
import threading
import time
from collections import deque
from typing import Any

import orjson

# Attributes every LogRecord has: anything else on a record came in as `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}  # fmt: skip


class JsonLines(logging.Formatter):
    _second, _stamp = -1, ""  # the last access line's whole second, formatted

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()

    def access_line(
        self, created: float, fields: dict[str, Any], request_id: str
    ) -> str:
        """What `format` makes of the access record of these fields, made without the
        record and with the time formatted once a second: 2.7 us a line in
        the writer's loop against 11-15 us through the record (bench machine,
        2026-12-04): at INFO the web server wrote every request's line that way."""
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime(
                self.default_time_format, self.converter(created)
            )
        line = {
            "time": f"{self._stamp},{int((created - second) * 1000):03d}",
            "level": "INFO",
            "logger": ACCESS_LOGGER,
            "message": "request",
            **fields,
            "request_id": request_id,
        }
        return orjson.dumps(line, default=str).decode()


class LineHandler(logging.StreamHandler):
    """A StreamHandler that, once `start_buffering` runs (the web server does, at its
    first request), keeps lines below WARNING in memory and writes them from a thread
    every `interval` seconds in one write: a write per request made the request thread
    give up the GIL mid-request, which cost ~8% of a latest-price request's throughput
    at 64 connections (`make bench`, logging_overhead). WARNING and above are written
    at once, after what is buffered, so the order holds. Lost on a hard kill: at most
    one interval of access lines."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        # Lines as text, or access lines still to write: (time, fields, request id).
        self._pending: deque[str | tuple[float, dict[str, Any], str]] = deque()
        self.defers_access = False  # set by start_buffering when nothing else sees them
        # And whether the line needs no record (JsonLines.access_line).
        self._direct_access = False
        self._buffering = False

    def handle(self, record: logging.LogRecord) -> bool:
        if not (self._buffering and record.levelno < logging.WARNING):
            return super().handle(record)
        # Filtered and formatted now (the request id is this request's), kept as text
        # without the lock. (Keeping the record and formatting it in the writer measured
        # the same in one process; the access line is the one deferred: defer_access.)
        kept = self.filter(record)
        if kept:
            line = kept if isinstance(kept, logging.LogRecord) else record
            try:
                self._pending.append(self.format(line) + self.terminator)
            except Exception:
                self.handleError(line)
        return bool(kept)

    def emit(self, record: logging.LogRecord) -> None:
        self.write_pending()  # under the handler's lock, as every write
        super().emit(record)

    def write_pending(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # an RLock, made by Handler.__init__
            pending, lines = self._pending, []
            while pending:
                item = pending.popleft()  # deque: safe beside the appends
                lines.append(
                    item if isinstance(item, str) else self._access_line(*item)
                )
            if lines:
                self.stream.write("".join(lines))
                self.flush()

    def defer_access(
        self, created: float, fields: dict[str, Any], request_id: str
    ) -> None:
        """An access line, its record made and formatted by the writer thread: making
        the record on the request thread cost ~10 us there (cold caches), ~3 us in the
        writer's loop."""
        self._pending.append((created, fields, request_id))

    def _access_line(
        self, created: float, fields: dict[str, Any], request_id: str
    ) -> str:
        if self._direct_access:
            assert isinstance(self.formatter, JsonLines)
            return self.formatter.access_line(created, fields, request_id) + "\n"
        access = logging.getLogger(ACCESS_LOGGER)
        record = access.makeRecord(
            access.name, logging.INFO, "", 0, "request", (), None,
            extra={**fields, "request_id": request_id},
        )  # fmt: skip
        # As LogRecord.__init__ sets them, from the request's moment.
        record.created = created
        record.msecs = int((created - int(created)) * 1000) + 0.0
        if not self.filter(record):
            return ""
        try:
            return self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return ""

    def writes_access_lines_directly(self) -> bool:
        """Whether `JsonLines.access_line` makes this handler's access lines exactly."""
        return (
            type(self.formatter) is JsonLines
            and self.formatter.datefmt is None
            and self.terminator == "\n"
            # An access line has its request id: a filter that only fills it in when
            # missing changes nothing.
            and all(getattr(f, "only_fills_request_id", False) for f in self.filters)
        )

    def start_buffering(self, interval: float) -> None:
        if self._buffering:
            return
        self._buffering = True
        self.defers_access = _only_handler_of_access_lines(self)
        self._direct_access = self.writes_access_lines_directly()
        atexit.register(self.write_pending)

        def run() -> None:
            while True:
                time.sleep(interval)
                self.write_pending()

        threading.Thread(target=run, name="log-lines", daemon=True).start()


ACCESS_LOGGER = "marketpulse.access"


def _only_handler_of_access_lines(handler: LineHandler) -> bool:
    """Whether access lines reach nothing but `handler` (the shipped LOGGING): then
    they may skip the logging machinery on the request thread (`defer_access`)."""
    root = logging.getLogger()
    for name in (ACCESS_LOGGER, "marketpulse"):
        logger = logging.getLogger(name)
        if logger.handlers or logger.filters or not logger.propagate or logger.disabled:
            return False
    return root.handlers == [handler] and not root.filters


# The buffering handler that takes access lines directly (`defer_access`), once
# `start_buffering` found it the only one they reach.
access_handler: LineHandler | None = None


def start_buffering(interval: float = 0.05) -> None:
    """Buffers the root logger's lines below WARNING (`LineHandler`) in this process."""
    global access_handler
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LineHandler):
            handler.start_buffering(interval)
            if handler.defers_access:
                access_handler = handler
