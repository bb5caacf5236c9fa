"""`records_json` writes the same bytes as `dumps` of the row dicts, whatever the columns
hold: floats with NaN and infinities, integers, booleans, None, times, odd key names."""

from datetime import UTC, datetime

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from marketpulse.api.renderers import dumps, records_json

ROWS = st.integers(min_value=0, max_value=40)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
KEYS = st.text(min_size=1, max_size=8)  # "%", quotes, commas, non-ASCII included


def as_dicts(columns: dict) -> list[dict]:
    """The rows the plain way: Python values, times as aware datetimes."""
    listed = {}
    for name, column in columns.items():
        if isinstance(column, np.ndarray) and column.dtype.kind == "M":
            seconds = column.astype(np.int64).tolist()
            listed[name] = [datetime.fromtimestamp(s, UTC) for s in seconds]
        elif isinstance(column, np.ndarray):
            listed[name] = column.tolist()
        else:
            listed[name] = column
    return [
        dict(zip(listed, row, strict=True))
        for row in zip(*listed.values(), strict=True)
    ]


@st.composite
def columns(draw: st.DrawFn) -> dict:
    rows = draw(ROWS)
    names = draw(st.lists(KEYS, min_size=1, max_size=6, unique=True))
    kinds = st.sampled_from(["float", "int", "bool", "time", "optional", "text"])
    made: dict = {}
    for name in names:
        kind = draw(kinds)
        if kind == "float":
            values = draw(st.lists(FLOATS, min_size=rows, max_size=rows))
            made[name] = np.asarray(values, dtype=np.float64)
        elif kind == "int":
            ints = st.integers(min_value=-(2**62), max_value=2**62)
            made[name] = np.asarray(
                draw(st.lists(ints, min_size=rows, max_size=rows)), dtype=np.int64
            )
        elif kind == "bool":
            bools = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
            made[name] = np.asarray(bools, dtype=bool)
        elif kind == "time":
            seconds = st.integers(min_value=0, max_value=4_000_000_000)
            made[name] = np.asarray(
                draw(st.lists(seconds, min_size=rows, max_size=rows)), dtype=np.int64
            ).astype("datetime64[s]")
        elif kind == "optional":
            values = st.one_of(st.none(), st.integers(-5, 5), FLOATS)
            made[name] = draw(st.lists(values, min_size=rows, max_size=rows))
        else:  # strings may hold commas: the encoder must notice and still be right
            made[name] = draw(
                st.lists(st.text(max_size=5), min_size=rows, max_size=rows)
            )
    return made


@settings(max_examples=300, deadline=None)
@given(columns())
def test_records_json_is_byte_for_byte_the_dicts_through_dumps(made: dict) -> None:
    assert dumps(records_json(made)) == dumps(as_dicts(made))


def test_records_json_embedded_in_a_body_parses_back_to_the_rows() -> None:
    t = np.asarray([0, 86_400], dtype=np.int64).astype("datetime64[s]")
    rsi = np.asarray([np.nan, 41.5])
    body = dumps({"count": 2, "results": records_json({"open_time": t, "rsi": rsi})})
    assert orjson.loads(body) == {
        "count": 2,
        "results": [
            {"open_time": "1970-01-01T00:00:00Z", "rsi": None},
            {"open_time": "1970-01-02T00:00:00Z", "rsi": 41.5},
        ],
    }
