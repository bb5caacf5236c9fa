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
        self._pending: deque[logging.LogRecord] = deque()
        self._buffering = False

    def handle(self, record: logging.LogRecord) -> bool:
        if not (self._buffering and record.levelno < logging.WARNING):
            return super().handle(record)
        # Filtered now (the request id is this request's), kept without the lock.
        kept = self.filter(record)
        if kept:
            self._pending.append(
                kept if isinstance(kept, logging.LogRecord) else record
            )
        return bool(kept)

    def emit(self, record: logging.LogRecord) -> None:
        self.write_pending()  # under the handler's lock, as every write
        super().emit(record)

    def write_pending(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # an RLock, made by Handler.__init__
            pending, lines = self._pending, []
            while pending:
                record = pending.popleft()  # deque: safe beside `handle`'s append
                try:
                    lines.append(self.format(record) + self.terminator)
                except Exception:
                    self.handleError(record)
            if lines:
                self.stream.write("".join(lines))
                self.flush()

    def start_buffering(self, interval: float) -> None:
        if self._buffering:
            return
        self._buffering = True
        atexit.register(self.write_pending)

        def run() -> None:
            while True:
                time.sleep(interval)
                self.write_pending()

        threading.Thread(target=run, name="log-lines", daemon=True).start()


def start_buffering(interval: float = 0.05) -> None:
    """Buffers the root logger's lines below WARNING (`LineHandler`) in this process."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LineHandler):
            handler.start_buffering(interval)
