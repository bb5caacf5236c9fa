"""The indicator catalogue, generated from TA-Lib's own metadata (its abstract API).

Every TA-Lib function whose inputs are all OHLCV series is offered (every function but
MAVP, which needs a series of periods). Names are TA-Lib's in lower case (`rsi`,
`cdlengulfing`), plus `vwap`, which TA-Lib lacks. Parameter types, defaults and valid
ranges come from TA-Lib's C metadata (`TA_GetOptInputParameterInfo`): the Python wrapper
exposes names and defaults but not the ranges, so those are read with ctypes from the C
library the wheel ships, the same library the wrapper calls.
"""

import ctypes
import functools
import glob
import os
from dataclasses import dataclass, field
from typing import Any

import talib
from talib import abstract

OHLCV = ("open", "high", "low", "close", "volume")

# Output names users know, where TA-Lib's differ; single outputs take the indicator's
# name; other multi-output functions give `<name>_<talib output>`.
FRIENDLY_OUTPUTS = {
    ("macd", "macd"): "macd",
    ("macd", "macdsignal"): "macd_signal",
    ("macd", "macdhist"): "macd_hist",
    ("bbands", "upperband"): "bb_upper",
    ("bbands", "middleband"): "bb_middle",
    ("bbands", "lowerband"): "bb_lower",
}

# Friendly query parameters: `<alias>=value` sets these TA-Lib parameters.
FRIENDLY_PARAMETERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sma_period": ("sma", ("timeperiod",)),
    "ema_period": ("ema", ("timeperiod",)),
    "rsi_period": ("rsi", ("timeperiod",)),
    "macd_fast": ("macd", ("fastperiod",)),
    "macd_slow": ("macd", ("slowperiod",)),
    "macd_signal": ("macd", ("signalperiod",)),
    "bbands_period": ("bbands", ("timeperiod",)),
    "bbands_std": ("bbands", ("nbdevup", "nbdevdn")),
    "atr_period": ("atr", ("timeperiod",)),
}

VWAP_DESCRIPTION = (
    "Volume-weighted average price, cumulative from the range start: at each candle, "
    "sum(typical price x volume) / sum(volume) over the candles of the range up to it, "
    "typical price = (high + low + close) / 3. Not in TA-Lib; null until the range has "
    "traded volume."
)

# TA_OptInputParameterType
_REAL_RANGE, _REAL_LIST, _INTEGER_RANGE, _INTEGER_LIST = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str  # TA-Lib's Python name (`timeperiod`)
    type: str  # "integer" | "real"
    default: float | int
    minimum: float | int | None
    maximum: float | int | None
    choices: dict[int, str] | None  # integer lists (MA types)
    description: str

    def check(self, value: str) -> float | int:
        """The value parsed and within TA-Lib's range, or ValueError saying why."""
        try:
            number: float | int = int(value) if self.type == "integer" else float(value)
        except ValueError:
            raise ValueError(f"Must be an {self.type}, not {value[:32]!r}.") from None
        if self.type == "real" and number != number:  # NaN
            raise ValueError("Must be a number.")
        if self.choices is not None and number not in self.choices:
            listed = ", ".join(f"{k} ({v})" for k, v in self.choices.items())
            raise ValueError(f"Must be one of {listed}.")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"Must be at least {self.minimum} (TA-Lib's range).")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"Must be at most {self.maximum} (TA-Lib's range).")
        return number

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "description": self.description,
        }
        if self.choices is not None:
            out["choices"] = {str(k): v for k, v in self.choices.items()}
        return out


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str  # lower case
    talib_name: str | None  # None for vwap
    group: str
    display_name: str
    inputs: tuple[str, ...]  # OHLCV series, in TA-Lib's order
    parameters: dict[str, Parameter]
    talib_outputs: tuple[str, ...]
    outputs: tuple[str, ...]  # response field names
    flags: tuple[str, ...] = field(default=())

    @property
    def unstable(self) -> bool:
        return "Function has an unstable period" in self.flags

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "talib_name": self.talib_name,
            "group": self.group,
            "display_name": self.display_name,
            "inputs": list(self.inputs),
            "parameters": [p.as_dict() for p in self.parameters.values()],
            "outputs": list(self.outputs),
            "flags": list(self.flags),
        }


class _OptInfo(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("param_name", ctypes.c_char_p),
        ("flags", ctypes.c_int),
        ("display_name", ctypes.c_char_p),
        ("data_set", ctypes.c_void_p),
        ("default_value", ctypes.c_double),
        ("hint", ctypes.c_char_p),
        ("help_file", ctypes.c_char_p),
    ]


class _RealRange(ctypes.Structure):
    _fields_ = [
        ("min", ctypes.c_double),
        ("max", ctypes.c_double),
        ("precision", ctypes.c_int),
        ("suggested_start", ctypes.c_double),
        ("suggested_end", ctypes.c_double),
        ("suggested_increment", ctypes.c_double),
    ]


class _IntegerRange(ctypes.Structure):
    _fields_ = [
        ("min", ctypes.c_int),
        ("max", ctypes.c_int),
        ("suggested_start", ctypes.c_int),
        ("suggested_end", ctypes.c_int),
        ("suggested_increment", ctypes.c_int),
    ]


class _IntegerPair(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int), ("string", ctypes.c_char_p)]


class _IntegerList(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.POINTER(_IntegerPair)),
        ("count", ctypes.c_uint),
    ]


# TA-Lib spells "unbounded" as +-3e37 in its real ranges.
_UNBOUNDED = 1e37


@functools.cache
def _c_library() -> ctypes.CDLL:
    here = os.path.dirname(talib.__file__)
    found = glob.glob(os.path.join(here, "..", "ta_lib.libs", "libta-lib*.so*"))
    return ctypes.CDLL(found[0] if found else "libta-lib.so")


def _ranges(talib_name: str) -> list[tuple[Any, Any, dict[int, str] | None]]:
    """(minimum, maximum, choices) of each optional input, in TA-Lib's order."""
    lib = _c_library()
    handle = ctypes.c_void_p()
    if lib.TA_GetFuncHandle(talib_name.encode(), ctypes.byref(handle)) != 0:
        raise LookupError(talib_name)
    out: list[tuple[Any, Any, dict[int, str] | None]] = []
    index = 0
    while True:
        info = ctypes.POINTER(_OptInfo)()
        if lib.TA_GetOptInputParameterInfo(handle, index, ctypes.byref(info)) != 0:
            return out
        param = info.contents
        if param.type == _REAL_RANGE:
            real = _RealRange.from_address(param.data_set)
            low = None if real.min <= -_UNBOUNDED else real.min
            high = None if real.max >= _UNBOUNDED else real.max
            out.append((low, high, None))
        elif param.type == _INTEGER_RANGE:
            integer = _IntegerRange.from_address(param.data_set)
            out.append((integer.min, integer.max, None))
        elif param.type == _INTEGER_LIST:
            listed = _IntegerList.from_address(param.data_set)
            choices = {
                listed.data[k].value: listed.data[k].string.decode()
                for k in range(listed.count)
            }
            out.append((None, None, choices))
        else:
            out.append((None, None, None))
        index += 1


def _output_name(name: str, talib_output: str, count: int) -> str:
    if (name, talib_output) in FRIENDLY_OUTPUTS:
        return FRIENDLY_OUTPUTS[name, talib_output]
    return name if count == 1 else f"{name}_{talib_output}"


def _series(inputs: dict[str, Any]) -> tuple[str, ...] | None:
    series: list[str] = []
    for value in inputs.values():
        names = value if isinstance(value, list) else [value]
        if any(n not in OHLCV for n in names):
            return None
        series += names
    return tuple(series)


def _from_talib(talib_name: str) -> Indicator | None:
    function = abstract.Function(talib_name)  # type: ignore[attr-defined]  # built at import
    info = function.info
    inputs = _series(info["input_names"])
    if inputs is None:
        return None
    name = talib_name.lower()
    parameters: dict[str, Any] = {}
    ranges = _ranges(talib_name)
    for (param, default), (low, high, choices) in zip(
        info["parameters"].items(), ranges, strict=True
    ):
        integer = choices is not None or isinstance(default, int)
        parameters[param] = Parameter(
            name=param,
            type="integer" if integer else "real",
            default=default,
            minimum=low,
            maximum=high,
            choices=choices,
            description=_describe(talib_name, len(parameters)),
        )
    outputs = tuple(info["output_names"])
    return Indicator(
        name=name,
        talib_name=talib_name,
        group=info["group"],
        display_name=info["display_name"],
        inputs=inputs,
        parameters=parameters,
        talib_outputs=outputs,
        outputs=tuple(_output_name(name, o, len(outputs)) for o in outputs),
        flags=tuple(info["function_flags"] or ()),
    )


def _describe(talib_name: str, index: int) -> str:
    from talib import _ta_lib

    info = _ta_lib._ta_getOptInputParameterInfo(talib_name.encode(), index)  # type: ignore[attr-defined]
    return f"{info['display_name']}: {info['help']}"


VWAP = Indicator(
    name="vwap",
    talib_name=None,
    group="Volume Indicators",
    display_name="Volume Weighted Average Price (cumulative from the range start)",
    inputs=("high", "low", "close", "volume"),
    parameters={},
    talib_outputs=("vwap",),
    outputs=("vwap",),
)


@functools.cache
def catalogue() -> dict[str, Indicator]:
    """Every indicator offered, by name, in TA-Lib's group order then by name."""
    found: dict[str, Indicator] = {}
    for names in talib.get_function_groups().values():
        for talib_name in sorted(names):
            indicator = _from_talib(talib_name)
            if indicator is not None:
                found[indicator.name] = indicator
    found[VWAP.name] = VWAP
    return found


@functools.cache
def outputs_index() -> dict[str, tuple[str, str]]:
    """Output field name -> (indicator, output), for asking for one output alone."""
    index: dict[str, tuple[str, str]] = {}
    for indicator in catalogue().values():
        for output in indicator.outputs:
            if output not in catalogue():
                index.setdefault(output, (indicator.name, output))
    return index
