"""Fast JSON (orjson) and CSV renderers for the market-data endpoints."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as DRF's encoder does with COERCE_DECIMAL_TO_STRING
    return str(value)  # lazy translation strings and the like


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=JSON_OPTIONS)


class OrjsonRenderer(BaseRenderer):
    """JSON, ~40x faster than DRF's encoder on candle pages (NOTES.md)."""

    media_type = "application/json"
    format = "json"
    charset: str | None = None

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return b"" if data is None else dumps(data)


class CSVRenderer(OrjsonRenderer):
    """Only selects the format: the candle view streams the CSV rows itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"
