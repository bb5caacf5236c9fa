"""One JSON object per log line, written with orjson.

What python-json-logger wrote (time, level, logger, message, request_id, every `extra`
field, the exception's traceback), at a fraction of its cost: the access line is written
on every request, and the standard library's JSON encoder made it a measurable share of
a cached response's time (issue 17).
"""

import logging
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
