"""Fast JSON (orjson) and CSV renderers for the market-data endpoints."""

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
from rest_framework.renderers import BaseRenderer

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as DRF's encoder does with COERCE_DECIMAL_TO_STRING
    return str(value)  # lazy translation strings and the like


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=JSON_OPTIONS)


# numpy arrays as JSON arrays; datetime64 values (naive) as UTC times ending in "Z".
COLUMN_OPTIONS = JSON_OPTIONS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC


def records_json(columns: Mapping[str, np.ndarray | Sequence[Any]]) -> orjson.Fragment:
    """The JSON of `[{name: value, ...}, ...]`, one object per position of the equally
    long columns (numpy arrays, NaN as null, or lists), byte for byte what `dumps` makes
    of those dicts: each column is encoded whole by orjson and the rows are put together
    by one bytes formatting, ~2x faster than building the dicts (5,000 rows x 10
    values: ~8 ms against ~18 ms, bench machine; ~4.7 ms on 2026-12-04). A `Fragment`:
    `dumps` embeds it."""
    names = list(columns)
    rows = len(columns[names[0]]) if names else 0
    if not rows:
        return orjson.Fragment(b"[]")
    encoded = []
    for name in names:
        values = orjson.dumps(columns[name], option=COLUMN_OPTIONS)[1:-1].split(b",")
        if len(values) != rows:  # a value holds a comma (a string): the plain way
            dicts = _dicts(columns)
            return orjson.Fragment(
                orjson.dumps(dicts, default=_default, option=COLUMN_OPTIONS)
            )
        encoded.append(values)
    keys = (dumps(name).replace(b"%", b"%%") for name in names)
    row = b"{" + b",".join(key + b":%s" for key in keys) + b"}"
    # Row-major cells by zip and chain, in C: ~10% faster than a numpy object array.
    cells = tuple(itertools.chain.from_iterable(zip(*encoded, strict=True)))
    return orjson.Fragment(b"[" + b",".join([row] * rows) % cells + b"]")


def _dicts(columns: Mapping[str, np.ndarray | Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    listed = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*listed, strict=True)]


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
