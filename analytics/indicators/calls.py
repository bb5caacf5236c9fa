"""Which indicators a request asks for, with what parameters, and how much history each
needs (see analytics/indicators/__init__.py for the rules)."""

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework.exceptions import ValidationError
from talib import abstract

from analytics.indicators.catalogue import (
    FRIENDLY_PARAMETERS,
    VWAP_DESCRIPTION,
    Indicator,
    catalogue,
    outputs_index,
)

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
# `sma:slow`: a second instance of an indicator, its outputs named `sma:slow`.
LABEL = re.compile(r"[a-z0-9_]{1,20}")


@dataclass(frozen=True, slots=True)
class Call:
    """One indicator as asked: its parameters (all of them) and the outputs wanted."""

    indicator: Indicator
    parameters: dict[str, float | int]
    outputs: tuple[str, ...]
    label: str = ""

    @property
    def name(self) -> str:
        return self.indicator.name

    @property
    def key(self) -> str:
        """The instance as the request and the response name it: `sma`, `sma:slow`."""
        return f"{self.name}:{self.label}" if self.label else self.name

    def column(self, output: str) -> str:
        """The response's name for one of the outputs: `bb_upper`, `bb_upper:wide`."""
        return f"{output}:{self.label}" if self.label else output

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
        return _lookback(self.indicator.talib_name, tuple(self.parameters.items()))

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


@functools.lru_cache(maxsize=4096)
def _lookback(talib_name: str, parameters: tuple[tuple[str, float | int], ...]) -> int:
    """TA-Lib's lookback (its TA_*_Lookback) for these parameters."""
    function = abstract.Function(talib_name)  # type: ignore[attr-defined]  # built at import
    function.set_parameters(dict(parameters))
    return int(function.lookback)


def fail(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def parse_calls(*, indicators: str, query: Mapping[str, str]) -> list[Call]:
    """The indicators asked for, with their parameters: 400 naming the field for an
    unknown indicator, output or parameter, a value out of TA-Lib's range, too many
    indicators, or a warm-up over `MAX_WARMUP`. `query` holds the other query keys.

    `name:label` asks for another instance of an indicator (`sma,sma:slow`), set as
    `sma:slow.timeperiod=50` or `sma_period:slow=50`; its outputs are `<output>:label`."""
    tokens = [n.strip().lower() for n in indicators.split(",") if n.strip()]
    if not tokens:
        raise fail("indicators", "Give at least one indicator, e.g. rsi,macd.")
    known = catalogue()
    wanted: dict[str, list[str]] = {}  # instance -> outputs (empty: all)
    for token in tokens:
        base, labelled, label = token.partition(":")
        if labelled and not LABEL.fullmatch(label):
            raise fail(
                "indicators",
                f"Label {label[:40]!r} of {base[:40]!r}: 1 to 20 of a-z, 0-9 and _.",
            )
        if base in known:
            wanted[_instance(base, label)] = []
        elif base in outputs_index():
            owner, output = outputs_index()[base]
            instance = _instance(owner, label)
            if wanted.get(instance) != []:
                wanted.setdefault(instance, []).append(output)
        else:
            raise fail(
                "indicators",
                f"Unknown indicator {base[:40]!r}; GET /api/v1/analytics/indicators/ "
                "lists them.",
            )
    if len(wanted) > MAX_INDICATORS:
        raise fail("indicators", f"At most {MAX_INDICATORS} indicators per request.")
    given: dict[str, dict[str, tuple[str, str]]] = {n: {} for n in wanted}
    for key, value in query.items():
        friendly, _, label = key.lower().partition(":")
        if friendly in FRIENDLY_PARAMETERS:
            name, params = FRIENDLY_PARAMETERS[friendly]
            instance = _instance(name, label)
        elif "." in key:
            instance, param = key.lower().split(".", 1)
            name = instance.partition(":")[0]
            if name not in known:
                raise fail(key, f"Unknown indicator {name[:40]!r}.")
            if param not in known[name].parameters:
                options = ", ".join(known[name].parameters) or "none"
                raise fail(key, f"{name} has no parameter {param[:40]!r} ({options}).")
            params = (param,)
        else:
            raise fail(key, "Unknown query parameter.")
        if instance not in wanted:
            raise fail(
                key, f"Sets a parameter of {instance[:60]}, which was not asked for."
            )
        for param in params:
            given[instance][param] = (key, value)
    return [
        _call(instance, outputs, given[instance])
        for instance, outputs in wanted.items()
    ]


def _instance(name: str, label: str) -> str:
    return f"{name}:{label}" if label else name


def _call(instance: str, outputs: list[str], given: dict[str, tuple[str, str]]) -> Call:
    name, _, label = instance.partition(":")
    indicator = catalogue()[name]
    parameters: dict[str, float | int] = {
        p.name: p.default for p in indicator.parameters.values()
    }
    for param, (key, value) in given.items():
        try:
            parameters[param] = indicator.parameters[param].check(value)
        except ValueError as error:
            raise fail(key, str(error)) from None
    call = Call(indicator, parameters, tuple(outputs) or indicator.outputs, label)
    try:
        warmup = call.warmup()
    except Exception as error:  # TA-Lib refusing the combination
        raise fail(instance, f"TA-Lib refused these parameters: {error}") from None
    if warmup > MAX_WARMUP:
        raise fail(
            instance,
            f"These parameters need {warmup} earlier candles; at most {MAX_WARMUP}.",
        )
    return call


def memory(indicator: Indicator) -> str:
    """How the indicator's past reaches a value, with its default parameters."""
    if indicator.name in CUMULATIVE:
        return "cumulative"
    defaults = {p.name: p.default for p in indicator.parameters.values()}
    return "recursive" if Call(indicator, defaults, ()).recursive() else "finite"


def catalogue_body() -> dict[str, Any]:
    """The catalogue as served (GET /api/v1/analytics/indicators/)."""
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
