"""Indicator values over the candles of a window, with their warm-up (rules in
analytics/indicators/__init__.py)."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import talib
from django.conf import settings

from analytics.indicators.calls import (
    CUMULATIVE,
    DEFAULT_ROWS,
    INDEX_OUTPUTS,
    MAX_ROWS,
    Call,
    fail,
)
from marketpulse.api.renderers import records_json
from prices import selectors
from prices.intervals import (
    DURATIONS,
    Interval,
    close_times,
    floor_time,
    gaps_between,
    next_open,
)


def slots(*, start: datetime, end: datetime, interval: str) -> int:
    """How many `interval` candles open in [start, end) (both aligned)."""
    if interval == Interval.MO1:
        return (end.year - start.year) * 12 + end.month - start.month
    return int((end - start) / DURATIONS[interval])


def default_start(*, end: datetime, interval: str) -> datetime:
    if interval == Interval.MO1:
        months = end.year * 12 + end.month - 1 - DEFAULT_ROWS
        return end.replace(year=months // 12, month=months % 12 + 1)
    return end - DEFAULT_ROWS * DURATIONS[interval]


def ceil_time(moment: datetime, interval: str) -> datetime:
    floor = floor_time(moment, interval)
    return floor if floor == moment else next_open(floor, interval)


@dataclass(frozen=True, slots=True)
class Window:
    """A validated request: symbol, interval, aligned [start, end), indicators."""

    symbol: str
    interval: str
    start: datetime
    end: datetime
    calls: list[Call]

    def cache_key(self) -> str:
        described = ";".join(
            f"{c.key}:{sorted(c.parameters.items())}:{','.join(c.outputs)}"
            for c in self.calls
        )
        digest = hashlib.blake2b(described.encode(), digest_size=12).hexdigest()
        return (
            f"indicators:{self.symbol}:{self.interval}:{self.start.isoformat()}:"
            f"{self.end.isoformat()}:{digest}"
        )


def make_window(
    *,
    symbol: str,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    calls: list[Call],
) -> Window:
    """Aligns the bounds up to the interval (as the history API) and checks the row
    limit: 400 naming `end` when the range holds more than `MAX_ROWS` candles."""
    end = ceil_time(end or datetime.now(UTC), interval)
    start = (
        ceil_time(start, interval)
        if start
        else default_start(end=end, interval=interval)
    )
    if end <= start:
        raise fail("end", "Must be after start (both aligned up to the interval).")
    count = slots(start=start, end=end, interval=interval)
    if count > MAX_ROWS:
        raise fail(
            "end",
            f"The range holds {count} candles of {interval}; at most {MAX_ROWS} per "
            "request.",
        )
    return Window(symbol, interval, start, end, calls)


def _iso(epochs: np.ndarray) -> list[str]:
    stamps = epochs.astype("datetime64[s]")
    return np.datetime_as_string(stamps, unit="s", timezone="UTC").tolist()


def _vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray):  # type: ignore[no-untyped-def]
    cum_volume = np.cumsum(volume)
    cum_value = np.cumsum((high + low + close) / 3 * volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cum_volume > 0, cum_value / cum_volume, np.nan)


def run_call(
    call: Call, inputs: dict[str, np.ndarray], open_time: np.ndarray
) -> list[np.ndarray]:
    """The call's outputs over `inputs` (one array per TA-Lib output)."""
    if call.indicator.talib_name is None:
        return [_vwap(inputs["high"], inputs["low"], inputs["close"], inputs["volume"])]
    # TA-Lib's function API, inputs in the abstract API's order (what the catalogue
    # lists): the abstract wrapper re-checks and copies its inputs on every call.
    function = getattr(talib, call.indicator.talib_name)
    result = function(*(inputs[s] for s in call.indicator.inputs), **call.parameters)
    arrays = list(result) if isinstance(result, tuple) else [result]
    if call.name in INDEX_OUTPUTS:
        # TA-Lib answers positions in the input; a position means nothing to a client.
        arrays = [
            np.where(a >= 0, open_time[np.clip(a, 0, None)], -1).astype(np.int64)
            for a in arrays
        ]
    return arrays


@dataclass(frozen=True, slots=True)
class Computed:
    """The indicators of a window: one value per candle of [start, end) and output
    (NaN or None where there is none), with what each call used."""

    open_time: np.ndarray  # epoch seconds
    outputs: dict[str, np.ndarray | list[Any]]
    parameters: dict[str, Any]
    warmup: dict[str, Any]
    stored_interval: str | None


def indicator_columns(*, series: selectors.CandleSeries, window: Window) -> Computed:
    calls = window.calls
    warmups = [c.warmup() for c in calls]
    columns = selectors.series_columns(
        series,
        interval=window.interval,
        start=window.start,
        end=window.end,
        before=max(warmups),
    )
    available = columns.before
    open_time = columns.open_time
    inputs_all = {
        "open": columns.open,
        "high": columns.high,
        "low": columns.low,
        "close": columns.close,
        "volume": columns.volume,
    }
    rows = open_time.size - available
    values: dict[str, np.ndarray | list[Any]] = {}
    parameters: dict[str, Any] = {}
    warmup: dict[str, Any] = {}
    for call, call_warmup in zip(calls, warmups, strict=True):
        used = min(available, call_warmup)
        offset = available - used
        lookback = call.lookback()
        inputs = {k: v[offset:] for k, v in inputs_all.items()}
        outputs = run_call(call, inputs, open_time[offset:])
        short = max(0, lookback - used)
        null_rows = rows
        for talib_output, output in zip(
            call.indicator.talib_outputs, call.indicator.outputs, strict=True
        ):
            array = outputs[call.indicator.talib_outputs.index(talib_output)][used:]
            if output not in call.outputs:
                continue
            null_rows = min(null_rows, _leading_nulls(array, call.name, short))
            values[call.column(output)] = _column(array, call.name, short)
        parameters[call.key] = call.parameters
        warmup[call.key] = {
            "lookback": lookback,
            "warmup": call_warmup,
            "available": used,
            "anchored_at_start": call.name in CUMULATIVE,
            # False: the stored history starts within the convergence margin, so the
            # values are those of a computation from the first stored candle.
            "converged": used >= call_warmup or call.name in CUMULATIVE,
            "null_rows": null_rows if rows else 0,
            "reason": _reason(
                call=call,
                lookback=lookback,
                short=short,
                null_rows=null_rows,
                used=used,
                size=rows,
            ),
        }
    source = columns.source
    return Computed(
        open_time=open_time[available:],
        outputs=values,
        parameters=parameters,
        warmup=warmup,
        stored_interval=source.stored_interval if source else None,
    )


def response_body(window: Window, computed: Computed) -> dict[str, Any]:
    """One row per candle of [start, end), the asked outputs (the rows pre-encoded:
    `dumps` embeds them)."""
    rows = {"open_time": computed.open_time.astype("datetime64[s]"), **computed.outputs}
    return {
        "symbol": window.symbol,
        "interval": window.interval,
        "quote": settings.QUOTE_CURRENCY,
        "start": window.start,
        "end": window.end,
        "stored_interval": computed.stored_interval,
        "count": int(computed.open_time.size),
        "parameters": computed.parameters,
        "warmup": computed.warmup,
        "gaps": _gaps(computed.open_time, window.interval),
        "results": records_json(rows),
    }


def _leading_nulls(array: np.ndarray, name: str, short: int) -> int:
    if name in INDEX_OUTPUTS or array.dtype.kind in "iu":
        return min(short, array.size)
    present = np.flatnonzero(~np.isnan(array))
    return int(present[0]) if present.size else int(array.size)


def _column(array: np.ndarray, name: str, short: int) -> np.ndarray | list[Any]:
    """Floats as they are (NaN is null in JSON); integer outputs get nulls (None) for
    the lookback, index outputs are times."""
    if name in INDEX_OUTPUTS:
        times: list[Any] = _iso(np.where(array >= 0, array, 0))
        return [None if n < short or t < 0 else s for n, (t, s) in
                enumerate(zip(array.tolist(), times, strict=True))]  # fmt: skip
    if array.dtype.kind not in "iu" or not short:
        return array
    listed: list[Any] = array.tolist()
    listed[:short] = [None] * min(short, len(listed))
    return listed


def _reason(
    *, call: Call, lookback: int, short: int, null_rows: int, used: int, size: int
) -> str | None:
    if not null_rows or not size:
        return None
    if short:
        return (
            f"{call.key} needs {lookback} earlier candles before its first "
            f"value; the stored history has {used} before start."
        )
    return f"{call.key} has no value where its inputs allow none (e.g. zero volume)."


def _gaps(open_time: np.ndarray, interval: str) -> list[dict[str, datetime]]:
    pairs = gaps_between(open_time, close_times(open_time, interval))
    return [
        {"start": datetime.fromtimestamp(s, UTC), "end": datetime.fromtimestamp(e, UTC)}
        for s, e in pairs
    ]


def ttl_for(open_time: np.ndarray, interval: str) -> int:
    """Until the forming candle (if any) closes, at most API_CACHE_TTL."""
    ttl: int = settings.API_CACHE_TTL
    if open_time.size:
        last = datetime.fromtimestamp(int(open_time[-1]), UTC)
        closes = next_open(last, interval)
        now = datetime.now(UTC)
        if closes > now:
            ttl = min(ttl, int((closes - now).total_seconds()) + 1)
    return ttl
