"""Technical indicators over stored candles, computed by TA-Lib (VWAP by us).

Rules, stated once:

- **Candles**: the exact candles the history API serves for the interval (stored, or
  aggregated exactly from a finer stored interval), read through `prices.selectors`.
- **Warm-up**: each indicator is computed on its own window: the candles of [start, end)
  preceded by `warmup` earlier candles. `warmup` = TA-Lib's lookback for the parameters
  (candles before the first value) plus, for recursive indicators (EMA/Wilder smoothing,
  adaptive averages, SAR, Hilbert transforms: TA-Lib's "unstable period" and those built
  on them), `CONVERGENCE` x their longest period (`RECURSIVE_BASE` when they have none):
  a seed's weight decays at least like (1 - 1/n)^k, so after 30n candles it is below
  e^-30 ~ 1e-13 and values from `start` equal a computation over the whole history to
  well within 1e-6 relative (measured for every catalogue function on the demo candles,
  tests/analytics/test_indicator_warmup.py). Each indicator's window is its own, so its
  values do not depend on what else was asked for.
- **Too little history**: when fewer than `lookback` candles precede `start`, the leading
  rows are null and `warmup.<name>.null_rows` / `reason` say how many and why. When the
  stored history starts within the convergence margin, the values are those of a
  computation over the whole stored history (the first stored candle seeds them).
- **Cumulative indicators** (OBV, A/D line, NVI, PVI, PVT, WAD, CUMSUM, VWAP) never forget
  their origin; they are anchored at the range start (first row as TA-Lib starts them).
- **Gaps**: a missing candle is not invented; indicators run over the candles that exist,
  so periods count candles, and the candle after a gap follows the one before it. The
  response lists the gaps of the range.
- Index functions (MAXINDEX, MININDEX, MINMAXINDEX) answer the open time of the candle.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework.exceptions import ValidationError
from talib import abstract

from analytics.catalogue import (
    FRIENDLY_PARAMETERS,
    Indicator,
    catalogue,
    outputs_index,
)
from prices import selectors
from prices.intervals import DURATIONS, Interval, floor_time, next_open

MAX_INDICATORS = 10  # indicators per request
MAX_ROWS = 5000  # candles in [start, end), as the history API's page
MAX_WARMUP = 20_000  # earlier candles one indicator may need
DEFAULT_ROWS = 500  # when `start` is absent
CONVERGENCE = 30
RECURSIVE_BASE = 1000
# Measured (see the module docstring): recursive though TA-Lib does not flag them.
RECURSIVE = frozenset(
    [
        "adxr",
        "apo",
        "eri",
        "kdj",
        "macd",
        "macdext",
        "macdfix",
        "smi",
        "trix",
        "tsi",
        "dema",
        "kc",
        "sar",
        "sarext",
        "supertrend",
        "tema",
        "zlema",
        "cvi",
        "massi",
        "adosc",
        "efi",
        "pvo",
        "ppo",
        "stochrsi",
    ]
)
# Moving-average types whose window is finite (TA-Lib's MA type list).
FINITE_MA_TYPES = frozenset({"SMA", "WMA", "TRIMA", "HMA", "DISABLED"})
CUMULATIVE = frozenset(["obv", "ad", "cumsum", "wad", "nvi", "pvi", "pvt", "vwap"])
INDEX_OUTPUTS = frozenset({"maxindex", "minindex", "minmaxindex"})
# TA-Lib's fixed periods where a function has no parameter for them.
FIXED_PERIODS = {"macdfix": 26}


@dataclass(frozen=True, slots=True)
class Call:
    """One indicator as asked: its parameters (all of them) and the outputs wanted."""

    indicator: Indicator
    parameters: dict[str, float | int]
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.indicator.name

    def recursive(self) -> bool:
        if self.name in CUMULATIVE:
            return False
        if self.indicator.unstable or self.name in RECURSIVE:
            return True
        for param in self.indicator.parameters.values():
            if param.choices is not None and "matype" in param.name:
                kind = param.choices.get(int(self.parameters[param.name]), "")
                if kind not in FINITE_MA_TYPES:
                    return True
        return False

    def lookback(self) -> int:
        if self.indicator.talib_name is None:
            return 0
        function = abstract.Function(self.indicator.talib_name)
        function.set_parameters(self.parameters)
        return int(function.lookback)

    def warmup(self) -> int:
        """Earlier candles this indicator reads (0 for cumulative ones)."""
        if self.name in CUMULATIVE:
            return 0
        extra = 0
        if self.recursive():
            periods = [
                int(v)
                for k, v in self.parameters.items()
                if self.indicator.parameters[k].type == "integer"
                and "matype" not in k
                and self.indicator.parameters[k].choices is None
            ]
            if self.name == "mama":
                periods.append(int(1 / float(self.parameters["slowlimit"])))
            if self.name in FIXED_PERIODS:
                periods.append(FIXED_PERIODS[self.name])
            extra = CONVERGENCE * max(periods) if periods else RECURSIVE_BASE
        return self.lookback() + extra


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def parse_calls(*, indicators: str, query: Mapping[str, str]) -> list[Call]:
    """The indicators asked for, with their parameters: 400 naming the field for an
    unknown indicator, output or parameter, a value out of TA-Lib's range, too many
    indicators, or a warm-up over `MAX_WARMUP`. `query` holds the other query keys."""
    names = [n.strip().lower() for n in indicators.split(",") if n.strip()]
    if not names:
        raise _fail("indicators", "Give at least one indicator, e.g. rsi,macd.")
    known = catalogue()
    wanted: dict[str, list[str]] = {}  # indicator -> outputs (empty: all)
    for name in names:
        if name in known:
            wanted[name] = []
        elif name in outputs_index():
            indicator, output = outputs_index()[name]
            if wanted.get(indicator) != []:
                wanted.setdefault(indicator, []).append(output)
        else:
            raise _fail(
                "indicators",
                f"Unknown indicator {name[:40]!r}; GET /api/v1/analytics/indicators/ "
                "lists them.",
            )
    if len(wanted) > MAX_INDICATORS:
        raise _fail("indicators", f"At most {MAX_INDICATORS} indicators per request.")
    given: dict[str, dict[str, tuple[str, str]]] = {n: {} for n in wanted}
    for key, value in query.items():
        if key in FRIENDLY_PARAMETERS:
            name, params = FRIENDLY_PARAMETERS[key]
        elif "." in key:
            name, param = key.lower().split(".", 1)
            if name not in known:
                raise _fail(key, f"Unknown indicator {name[:40]!r}.")
            if param not in known[name].parameters:
                options = ", ".join(known[name].parameters) or "none"
                raise _fail(key, f"{name} has no parameter {param[:40]!r} ({options}).")
            params = (param,)
        else:
            raise _fail(key, "Unknown query parameter.")
        if name not in wanted:
            raise _fail(key, f"Sets a parameter of {name}, which was not asked for.")
        for param in params:
            given[name][param] = (key, value)
    calls = []
    for name, outputs in wanted.items():
        indicator = known[name]
        parameters: dict[str, float | int] = {
            p.name: p.default for p in indicator.parameters.values()
        }
        for param, (key, value) in given[name].items():
            try:
                parameters[param] = indicator.parameters[param].check(value)
            except ValueError as error:
                raise _fail(key, str(error)) from None
        call = Call(indicator, parameters, tuple(outputs) or indicator.outputs)
        try:
            warmup = call.warmup()
        except Exception as error:  # TA-Lib refusing the combination
            raise _fail(name, f"TA-Lib refused these parameters: {error}") from None
        if warmup > MAX_WARMUP:
            raise _fail(
                name,
                f"These parameters need {warmup} earlier candles; at most {MAX_WARMUP}.",
            )
        calls.append(call)
    return calls


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
            f"{c.name}:{sorted(c.parameters.items())}:{','.join(c.outputs)}"
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
        raise _fail("end", "Must be after start (both aligned up to the interval).")
    count = slots(start=start, end=end, interval=interval)
    if count > MAX_ROWS:
        raise _fail(
            "end",
            f"The range holds {count} candles of {interval}; at most {MAX_ROWS} per "
            "request.",
        )
    return Window(symbol, interval, start, end, calls)


def _iso(epochs: np.ndarray) -> list[str]:
    return [f"{t}Z" for t in epochs.astype("datetime64[s]").astype(str)]


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
    function = abstract.Function(call.indicator.talib_name)
    function.set_parameters(call.parameters)
    result = function(inputs)
    arrays = result if isinstance(result, list) else [result]
    if call.name in INDEX_OUTPUTS:
        # TA-Lib answers positions in the input; a position means nothing to a client.
        arrays = [
            np.where(a >= 0, open_time[np.clip(a, 0, None)], -1).astype(np.int64)
            for a in arrays
        ]
    return arrays


def compute(*, asset_id: int, window: Window) -> dict[str, Any]:
    """The response body: one row per candle of [start, end), the asked outputs."""
    calls = window.calls
    before = max(c.warmup() for c in calls)
    columns = selectors.candle_columns(
        asset_id=asset_id,
        interval=window.interval,
        start=window.start,
        end=window.end,
        before=before,
    )
    available = columns.before
    open_time = np.asarray(columns.open_time, dtype=np.int64)
    series = {
        "open": np.asarray(columns.open, dtype=np.float64),
        "high": np.asarray(columns.high, dtype=np.float64),
        "low": np.asarray(columns.low, dtype=np.float64),
        "close": np.asarray(columns.close, dtype=np.float64),
        "volume": np.asarray(columns.volume, dtype=np.float64),
    }
    rows_open = open_time[available:]
    keys = ["open_time"]
    values: list[list[Any]] = [_iso(rows_open)]
    parameters: dict[str, Any] = {}
    warmup: dict[str, Any] = {}
    for call in calls:
        used = min(available, call.warmup())
        offset = available - used
        lookback = call.lookback()
        inputs = {k: v[offset:] for k, v in series.items()}
        outputs = run_call(call, inputs, open_time[offset:])
        short = max(0, lookback - used)
        null_rows = len(rows_open)
        for talib_output, output in zip(
            call.indicator.talib_outputs, call.indicator.outputs, strict=True
        ):
            array = outputs[call.indicator.talib_outputs.index(talib_output)][used:]
            if output not in call.outputs:
                continue
            leading = _leading_nulls(array, call.name, short)
            null_rows = min(null_rows, leading)
            keys.append(output)
            values.append(_as_list(array, call.name, short))
        parameters[call.name] = call.parameters
        warmup[call.name] = {
            "lookback": lookback,
            "warmup": call.warmup(),
            "available": used,
            "anchored_at_start": call.name in CUMULATIVE,
            # False: the stored history starts within the convergence margin, so the
            # values are those of a computation from the first stored candle.
            "converged": used >= call.warmup() or call.name in CUMULATIVE,
            "null_rows": null_rows if rows_open.size else 0,
            "reason": _reason(
                call=call,
                short=short,
                null_rows=null_rows,
                used=used,
                size=rows_open.size,
            ),
        }
    results = [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]
    return {
        "symbol": window.symbol,
        "interval": window.interval,
        "quote": settings.QUOTE_CURRENCY,
        "start": window.start,
        "end": window.end,
        "stored_interval": columns.source.stored_interval if columns.source else None,
        "count": len(results),
        "parameters": parameters,
        "warmup": warmup,
        "gaps": _gaps(rows_open, window.interval),
        "results": results,
    }


def _leading_nulls(array: np.ndarray, name: str, short: int) -> int:
    if name in INDEX_OUTPUTS or array.dtype.kind in "iu":
        return min(short, array.size)
    present = np.flatnonzero(~np.isnan(array))
    return int(present[0]) if present.size else int(array.size)


def _as_list(array: np.ndarray, name: str, short: int) -> list[Any]:
    """NaN becomes null in JSON (orjson); integer outputs get nulls for the lookback."""
    if name in INDEX_OUTPUTS:
        times: list[Any] = _iso(np.where(array >= 0, array, 0))
        return [None if n < short or t < 0 else s for n, (t, s) in
                enumerate(zip(array.tolist(), times, strict=True))]  # fmt: skip
    listed: list[Any] = array.tolist()
    if array.dtype.kind in "iu" and short:
        listed[:short] = [None] * min(short, len(listed))
    return listed


def _reason(
    *, call: Call, short: int, null_rows: int, used: int, size: int
) -> str | None:
    if not null_rows or not size:
        return None
    if short:
        return (
            f"{call.name} needs {call.lookback()} earlier candles before its first "
            f"value; the stored history has {used} before start."
        )
    return f"{call.name} has no value where its inputs allow none (e.g. zero volume)."


def _gaps(open_time: np.ndarray, interval: str) -> list[dict[str, datetime]]:
    if open_time.size < 2:
        return []
    if interval != Interval.MO1:
        step = int(DURATIONS[interval] / timedelta(seconds=1))
        where = np.flatnonzero(np.diff(open_time) != step)
    else:
        where = np.arange(open_time.size - 1)
    gaps = []
    for n in where.tolist():
        this = datetime.fromtimestamp(int(open_time[n]), UTC)
        following = datetime.fromtimestamp(int(open_time[n + 1]), UTC)
        if next_open(this, interval) != following:
            gaps.append({"start": next_open(this, interval), "end": following})
    return gaps


def ttl_for(body: dict[str, Any], interval: str) -> int:
    """Until the forming candle (if any) closes, at most API_CACHE_TTL."""
    ttl: int = settings.API_CACHE_TTL
    if body["results"]:
        last = datetime.fromisoformat(body["results"][-1]["open_time"])
        closes = next_open(last, interval)
        now = datetime.now(UTC)
        if closes > now:
            ttl = min(ttl, int((closes - now).total_seconds()) + 1)
    return ttl


def memory(indicator: Indicator) -> str:
    """How the indicator's past reaches a value, with its default parameters."""
    if indicator.name in CUMULATIVE:
        return "cumulative"
    defaults = {p.name: p.default for p in indicator.parameters.values()}
    return "recursive" if Call(indicator, defaults, ()).recursive() else "finite"


def catalogue_body() -> dict[str, Any]:
    """The catalogue as served (GET /api/v1/analytics/indicators/)."""
    from analytics.catalogue import VWAP_DESCRIPTION

    results = [
        {
            **indicator.as_dict(),
            "warmup": memory(indicator),
            "description": VWAP_DESCRIPTION if indicator.name == "vwap" else None,
        }
        for indicator in catalogue().values()
    ]
    return {
        "count": len(results),
        "limits": {
            "indicators": MAX_INDICATORS,
            "rows": MAX_ROWS,
            "warmup": MAX_WARMUP,
            "convergence_factor": CONVERGENCE,
        },
        "friendly_parameters": {
            key: ",".join(f"{name}.{p}" for p in params)
            for key, (name, params) in FRIENDLY_PARAMETERS.items()
        },
        "results": results,
    }
