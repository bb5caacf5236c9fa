"""Request bodies: JSON parsed by orjson, whose nesting limit (1024 levels) turns a deeply
nested body into a 400 where the standard library's parser recursed until Python gave up
(a RecursionError, a 500). The size limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE (env
MAX_REQUEST_BYTES), read before parsing; over it is a 413 (marketpulse/api/errors.py).
"""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class OrjsonParser(JSONParser):
    """JSON in, strict (no NaN or Infinity), nesting bounded."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
