"""Each kind of alert: its checks, its engine columns, its value now, its words.

The rule, the same for every kind: an alert fires once when its condition becomes true
while it is armed, then waits. It re-arms when its condition has been seen false again
(beyond the hysteresis: for "above 100, hysteresis 2", a price below 98), or, when it
has a cooldown, once the cooldown has passed since it fired (then it fires again if the
condition still holds). An alert whose condition is already true when it is created (or
edited, or enabled) starts disarmed: it fires on the next crossing, not at once.
Anomaly alerts fire on each new anomaly of their kind, at most once per cooldown.
"""

import functools
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError

from analytics.alerts.models import Alert, AlertKind, Direction
from analytics.indicators.calls import Call, parse_calls
from analytics.indicators.compute import indicator_columns, make_window
from analytics.models import AnomalyKind
from marketpulse.errors import InvalidInput
from prices import latest, selectors
from prices.intervals import DURATIONS, floor_time

# Windows of a % move, and intervals of an indicator's candles (fixed lengths only).
MOVE_WINDOWS = ("5m", "15m", "30m", "1h", "4h", "1d", "1w")
INDICATOR_INTERVALS = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
MAX_COOLDOWN = 30 * 86400
# Fields each kind reads; any other condition field given is refused (400 naming it).
KIND_FIELDS = {
    AlertKind.PRICE: {"direction", "level", "hysteresis"},
    AlertKind.MOVE: {"direction", "percent", "window", "hysteresis"},
    AlertKind.INDICATOR: {
        "direction",
        "level",
        "indicator",
        "params",
        "output",
        "interval",
        "hysteresis",
    },
    AlertKind.ANOMALY: {"anomaly_kind"},
}
CONDITION_FIELDS = set().union(*KIND_FIELDS.values())
# A condition field a kind does not use holds this.
BLANK: dict[str, Any] = {
    "direction": "", "level": None, "percent": None, "window": "", "indicator": "",
    "params": {}, "output": "", "interval": "", "anomaly_kind": "", "hysteresis": 0.0,
}  # fmt: skip
DIRECTIONS = {
    AlertKind.PRICE: (Direction.ABOVE, Direction.BELOW),
    AlertKind.MOVE: (Direction.UP, Direction.DOWN),
    AlertKind.INDICATOR: (Direction.ABOVE, Direction.BELOW),
}


def _finite(field: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field=field, message="A number is required.")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(field=field, message="Must be a finite number.")
    if positive and number <= 0:
        raise InvalidInput(field=field, message="Must be a positive number.")
    return number


def _required(rule: dict[str, Any], field: str) -> Any:
    if rule.get(field) in (None, ""):
        raise InvalidInput(field=field, message="Required for this kind of alert.")
    return rule[field]


def indicator_call(rule: dict[str, Any]) -> Call:
    """The TA-Lib call of an indicator alert, checked by the indicators API's parser."""
    name = str(rule["indicator"]).lower()
    if ":" in name:  # an alert watches one indicator: an instance label means nothing
        raise InvalidInput(field="indicator", message="A catalogue name, no label.")
    params = rule.get("params") or {}
    if not isinstance(params, dict):
        raise InvalidInput(field="params", message="An object of parameter: value.")
    query = {f"{name}.{key}": str(value) for key, value in params.items()}
    try:
        [call] = parse_calls(indicators=name, query=query)
    except ValidationError as error:  # the parser's 400, naming the query key
        detail = error.detail
        assert isinstance(
            detail, dict
        )  # `fail(field, message)` makes {field: [message]}
        key, messages = next(iter(detail.items()))
        first = messages[0] if isinstance(messages, list) else messages
        field = "params" if "." in key else "indicator"
        raise InvalidInput(field=field, message=f"{key}: {first}") from None
    return call


def check_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The alert's condition fields, checked for its kind and normalised, plus its
    engine columns (`metric`, `op`, `threshold`, `rearm_threshold`). Raises
    InvalidInput naming the field."""
    kind = rule["kind"]
    for field in CONDITION_FIELDS - KIND_FIELDS[kind]:
        if rule.get(field) not in (None, "", {}, 0):
            raise InvalidInput(field=field, message=f"Not used by {kind} alerts.")
    clean: dict[str, Any] = {f: rule.get(f) for f in KIND_FIELDS[kind]}
    hysteresis = 0.0
    if "hysteresis" in clean:
        hysteresis = _finite("hysteresis", rule.get("hysteresis") or 0)
        if hysteresis < 0:
            raise InvalidInput(field="hysteresis", message="Must be 0 or more.")
        clean["hysteresis"] = hysteresis
    if kind in DIRECTIONS:
        direction = _required(rule, "direction")
        if direction not in DIRECTIONS[kind]:
            allowed = " or ".join(DIRECTIONS[kind])
            raise InvalidInput(field="direction", message=f"One of {allowed}.")
    if kind == AlertKind.PRICE:
        level = _finite("level", _required(rule, "level"), positive=True)
        if hysteresis >= level:
            raise InvalidInput(field="hysteresis", message="Must be below the level.")
        clean["level"] = level
        metric, threshold = "price", level
    elif kind == AlertKind.MOVE:
        percent = _finite("percent", _required(rule, "percent"), positive=True)
        if percent > 1000:
            raise InvalidInput(field="percent", message="At most 1000.")
        window = _required(rule, "window")
        if window not in MOVE_WINDOWS:
            raise InvalidInput(
                field="window", message=f"One of {', '.join(MOVE_WINDOWS)}."
            )
        clean.update(percent=percent, window=window)
        metric = f"move:{window}"
        threshold = percent if direction == Direction.UP else -percent
    elif kind == AlertKind.INDICATOR:
        clean["indicator"] = str(_required(rule, "indicator")).lower()
        interval = _required(rule, "interval")
        if interval not in INDICATOR_INTERVALS:
            raise InvalidInput(
                field="interval", message=f"One of {', '.join(INDICATOR_INTERVALS)}."
            )
        call = indicator_call(clean)
        outputs = call.indicator.outputs
        output = rule.get("output") or (outputs[0] if len(outputs) == 1 else None)
        if output not in outputs:
            raise InvalidInput(
                field="output", message=f"{call.name} outputs {', '.join(outputs)}."
            )
        level = _finite("level", _required(rule, "level"))
        clean.update(params=call.parameters, output=output, level=level)
        params = json.dumps(call.parameters, sort_keys=True, separators=(",", ":"))
        metric, threshold = f"ind:{interval}:{call.name}:{params}:{output}", level
    else:
        anomaly_kind = rule.get("anomaly_kind") or ""
        if anomaly_kind and anomaly_kind not in AnomalyKind.values:
            raise InvalidInput(
                field="anomaly_kind",
                message=f"One of {', '.join(AnomalyKind.values)}, or empty for any.",
            )
        clean["anomaly_kind"] = anomaly_kind
        return {**clean, "metric": "anomaly", "op": "event", "threshold": None,
                "rearm_threshold": None}  # fmt: skip
    above = rule["direction"] in (Direction.ABOVE, Direction.UP)
    return {
        **clean,
        "metric": metric,
        "op": "above" if above else "below",
        "threshold": threshold,
        "rearm_threshold": threshold - hysteresis if above else threshold + hysteresis,
    }


def check_cooldown(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(field="cooldown", message="Whole seconds, 0 or more.")
    if value > MAX_COOLDOWN:
        raise InvalidInput(
            field="cooldown", message=f"At most {MAX_COOLDOWN} (30 days)."
        )
    return value


# --- Values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """A value of one metric of one asset at one time, which alerts are checked against."""

    asset_id: int
    symbol: str
    metric: str
    value: float
    at: datetime
    price: float | None
    source: str
    detail: dict[str, Any]


@functools.lru_cache(maxsize=4096)
def _reference(asset_id: int, window: str, minute: int) -> selectors.Reference | None:
    """Cached by the minute of (time - window): one query per asset, window and minute,
    not one per price."""
    moment = datetime.fromtimestamp(minute * 60, UTC)
    return selectors.close_before(
        asset_id=asset_id, moment=moment, within=DURATIONS[window]
    )


def move_reading(
    *, asset_id: int, symbol: str, window: str, price: float, at: datetime, source: str
) -> Reading | None:
    """The % change from the close `window` before `at` (the latest stored candle that
    closed by then, at most one candle older) to `price`; None without one."""
    moment = at - DURATIONS[window]
    reference = _reference(asset_id, window, int(moment.timestamp()) // 60)
    if reference is None or reference.price <= 0:
        return None
    change = (price / reference.price - 1) * 100
    detail = {"reference_price": reference.price, "reference_at": reference.at,
              "reference_interval": reference.interval}  # fmt: skip
    return Reading(
        asset_id, symbol, f"move:{window}", change, at, price, source, detail
    )


def indicator_value(
    *, asset_id: int, symbol: str, rule: dict[str, Any], until: datetime
) -> tuple[float, datetime] | None:
    """The indicator's value on the last candle of its interval that closed by `until`
    (closed candles only), and that candle's close time; None in warm-up or a gap."""
    interval = rule["interval"]
    end = floor_time(until, interval)
    call = indicator_call(rule)
    call = Call(call.indicator, call.parameters, (rule["output"],))
    window = make_window(
        symbol=symbol,
        interval=interval,
        start=end - DURATIONS[interval],
        end=end,
        calls=[call],
    )
    series = selectors.CandleSeries(
        asset_id, selectors.candle_source(asset_id=asset_id, interval=interval)
    )
    values = indicator_columns(series=series, window=window).outputs[rule["output"]]
    last = values[-1] if len(values) else None
    if last is None or last != last:  # none stored, or NaN (warm-up, a gap)
        return None
    return float(last), end


def current_value(alert: Alert) -> tuple[float, datetime] | None:
    """The alert's value now (to start it disarmed if already true), if known."""
    symbol = alert.asset.symbol
    if alert.kind == AlertKind.ANOMALY:
        return None
    if alert.kind == AlertKind.INDICATOR:
        # The last closed candle: now, or where the stored history ends.
        end = selectors.last_candle_end(asset_id=alert.asset_id)
        until = min(datetime.now(UTC), end) if end else datetime.now(UTC)
        return indicator_value(
            asset_id=alert.asset_id, symbol=symbol, rule=alert_rule(alert), until=until
        )
    prices, _ = latest.latest_prices([symbol])
    price = prices[0] if prices else None
    if price is None:
        return None
    at = datetime.fromisoformat(price["as_of"])
    if alert.kind == AlertKind.PRICE:
        return float(price["price"]), at
    reading = move_reading(asset_id=alert.asset_id, symbol=symbol, window=alert.window,
                           price=float(price["price"]), at=at, source="")  # fmt: skip
    return (reading.value, at) if reading else None


def alert_rule(alert: Alert) -> dict[str, Any]:
    return {f: getattr(alert, f) for f in ("kind", "interval", "indicator", "params",
                                           "output", "direction")}  # fmt: skip


def is_true(alert: Alert, value: float) -> bool:
    threshold = alert.threshold
    assert threshold is not None
    return value >= threshold if alert.op == "above" else value <= threshold


# --- Words -------------------------------------------------------------------------------


def describe(alert: Alert) -> str:
    """The condition in plain words: "BTC above 70,000 USD"."""
    symbol, quote = alert.asset.symbol, settings.QUOTE_CURRENCY
    if alert.kind == AlertKind.PRICE:
        words = f"{symbol} {alert.direction} {alert.level:,.8g} {quote}"
    elif alert.kind == AlertKind.MOVE:
        words = f"{symbol} {alert.direction} {alert.percent:g}% within {alert.window}"
    elif alert.kind == AlertKind.INDICATOR:
        params = ",".join(f"{v:g}" for v in alert.params.values())
        words = (
            f"{symbol} {alert.output}({params}) on {alert.interval} crosses "
            f"{alert.direction} {alert.level:g}"
        )
    else:
        words = f"{symbol}: {alert.anomaly_kind or 'any'} anomaly"
    if alert.hysteresis:
        words += f" (re-arms {alert.hysteresis:g} back)"
    return words


def snapshot(alert: Alert) -> dict[str, Any]:
    """The rule as it was when it fired (kept with the event)."""
    fields = ["kind", *sorted(KIND_FIELDS[AlertKind(alert.kind)]), "cooldown"]
    return {
        **{f: getattr(alert, f) for f in fields},
        "symbol": alert.asset.symbol,
        "description": describe(alert),
    }
