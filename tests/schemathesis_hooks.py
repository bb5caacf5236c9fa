"""Schemathesis hooks shared by the property-based runs (CLI: `SCHEMATHESIS_HOOKS`).

Two rules of the API span several parameters, and OpenAPI cannot state them:

- a time range's `end` comes after its `start` (a reversed range is a 400, as the history
  and performance tests prove);
- a portfolio's performance has at most 1000 points (`portfolio.selectors.MAX_POINTS`):
  a longer range for its interval is a 400 (the performance tests prove it);
- a trade is not in the future (`executed_at`, a rule that moves with the clock);
- an indicator's parameter (`rsi_period`, `macd.fastperiod`) comes with that indicator in
  `indicators`, and one request's candles fit the indicator limits (`MAX_ROWS` in
  [start, end), `MAX_WARMUP` before it): both depend on other parameters' values;
- a `cursor` is opaque: only one given in a `next` link is valid;
- a forecast's `symbol` (accuracy, predictions) names a stored asset: any other is a 400
  naming it, as the issue asks (and the forecast tests prove), which no pattern can say.

A generated "valid" case that breaks one of them is not something the schema promises, so
it is not sent as one; every other positive case is, and invalid cases are all sent.
"""

from datetime import UTC, datetime, timedelta

import schemathesis

MAX_POINTS = 1000
STEPS = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}


def _time(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _reversed_range(query: dict) -> bool:
    start, end = _time(query.get("start")), _time(query.get("end"))
    return start is not None and end is not None and end <= start


def _too_many_points(path: str, query: dict) -> bool:
    start = _time(query.get("start"))
    step = STEPS.get(str(query.get("interval", "1d")))
    if "/performance/" not in path or start is None or step is None:
        return False
    end = _time(query.get("end")) or datetime.now(UTC)
    return (end - start) / step >= MAX_POINTS - 2  # a bucket's width of margin


def _future_trade(body: object) -> bool:
    if not isinstance(body, dict) or "executed_at" not in body:
        return False
    moment = _time(body["executed_at"])
    return moment is not None and moment > datetime.now(UTC)


FRIENDLY = {
    "sma_period": "sma", "ema_period": "ema", "rsi_period": "rsi", "macd_fast": "macd",
    "macd_slow": "macd", "macd_signal": "macd", "bbands_period": "bbands",
    "bbands_std": "bbands", "atr_period": "atr",
}  # fmt: skip
INDICATOR_QUERY = {"interval", "indicators", "start", "end"}


def _indicator_cross_rules(path: str, query: dict) -> bool:
    """An indicator request the schema allows but the other parameters' values refuse:
    a parameter of an indicator not asked for, or more candles than the limits."""
    if "/analytics/indicators/" not in path or path.endswith("/indicators/"):
        return False
    asked = set(str(query.get("indicators", "")).split(","))
    for key in set(query) - INDICATOR_QUERY:
        owner = FRIENDLY.get(key) or key.split(".", 1)[0]
        if owner not in asked:
            return True
    # Candle limits hang on interval x range: only the daily and weekly ones always fit.
    return str(query.get("interval", "1d")) not in ("1d", "1w", "1M")


KNOWN_SYMBOLS = {"BTC", "ETH"}  # the assets tests/test_schema.py loads


def _unknown_forecast_symbol(path: str, query: dict, body: object) -> bool:
    if "/analytics/accuracy/" not in path and "/analytics/predictions/" not in path:
        return False
    symbol = query.get("symbol")
    if symbol is None and isinstance(body, dict):
        symbol = body.get("symbol")
    return symbol is not None and str(symbol).upper() not in KNOWN_SYMBOLS


@schemathesis.hook
def filter_case(context, case) -> bool:  # type: ignore[no-untyped-def]
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    query = case.query or {}
    return not (
        positive
        and (
            _reversed_range(query)
            or _too_many_points(case.path, query)
            or _future_trade(case.body)
            or _indicator_cross_rules(case.path, query)
            or _unknown_forecast_symbol(case.path, query, case.body)
            or "cursor" in query
        )
    )
