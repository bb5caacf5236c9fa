"""Checking readings (prices, moves, indicator values, anomalies) against alerts.

Event-driven: the sync pipeline (and manual prices) hand over each batch of fresh prices,
candle writes start the indicator checks, new anomalies the anomaly checks. PostgreSQL
is both the index and the referee: for each reading, two statements find, through
partial indexes on (asset, metric, op, level), only the alerts the value reaches (not
every alert of the asset) and flip their state with a conditional UPDATE. Two workers checking the
same price race on the row lock; the loser re-reads the row, finds it disarmed and fires
nothing, so every firing is stored once (and `AlertEvent` is unique per alert and
trigger time besides). A reading older than an alert's last transition changes nothing,
so a late or redelivered one cannot fire it again.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from analytics.alerts import conditions, delivery, metrics
from analytics.alerts.conditions import Reading
from analytics.alerts.models import Alert, AlertEvent, AlertKind
from analytics.models import Anomaly
from assets.models import Asset
from prices.latest import LatestPrice

logger = logging.getLogger(__name__)


# One reading per statement, its values bound as constants: PostgreSQL then plans each
# branch as a range scan of a partial index bound to (asset, metric, op) and the level,
# with real selectivity estimates (an array of readings would hide the values from it).
def _branch(where: str) -> str:
    return f"""
    SELECT id FROM alerts_alert
    WHERE asset_id = %(asset_id)s AND metric = %(metric)s AND enabled AND {where}"""


# Back beyond the re-arm level, or the cooldown passed: armed again.
_REARM = f"""
UPDATE alerts_alert SET armed = true, state_at = %(at)s, rearm_at = NULL
WHERE id IN ({_branch("NOT armed AND op = 'above' AND rearm_threshold > %(value)s")}
    UNION ALL {_branch("NOT armed AND op = 'below' AND rearm_threshold < %(value)s")}
    UNION ALL {_branch("NOT armed AND rearm_at IS NOT NULL AND rearm_at <= %(at)s")}
) AND NOT armed AND (state_at IS NULL OR state_at < %(at)s)
"""

# Armed and reached: fired (and disarmed), in the same statement that finds them.
_FIRE = f"""
UPDATE alerts_alert
SET armed = false, state_at = %(at)s, last_fired_at = %(at)s,
    fired_count = fired_count + 1,
    rearm_at = CASE WHEN cooldown > 0
                    THEN %(at)s + make_interval(secs => cooldown) END
WHERE id IN ({_branch("armed AND op = 'above' AND threshold <= %(value)s")}
    UNION ALL {_branch("armed AND op = 'below' AND threshold >= %(value)s")}
) AND armed AND (state_at IS NULL OR state_at <= %(at)s)
RETURNING id
"""


# Anomaly alerts never disarm: one firing per anomaly time, at most one per cooldown.
_FIRE_ANOMALY = """
UPDATE alerts_alert al
SET state_at = %(at)s, last_fired_at = %(at)s, fired_count = al.fired_count + 1
WHERE al.asset_id = %(asset_id)s AND al.metric = 'anomaly' AND al.op = 'event'
  AND al.enabled AND al.armed AND (al.anomaly_kind = '' OR al.anomaly_kind = %(kind)s)
  AND (al.state_at IS NULL OR al.state_at < %(at)s)
  AND (al.last_fired_at IS NULL
       OR al.last_fired_at + make_interval(secs => al.cooldown) <= %(at)s)
RETURNING al.id
"""


def _params(reading: Reading) -> dict[str, Any]:
    return {"asset_id": reading.asset_id, "metric": reading.metric, "value": reading.value,
            "at": reading.at}  # fmt: skip


def check_readings(readings: list[Reading]) -> list[AlertEvent]:
    """Re-arms, then fires, the alerts these readings reach; stores one event per
    firing and hands them to delivery after commit. Returns the events."""
    if not readings:
        return []
    fired: list[tuple[int, Reading]] = []
    with metrics.alert_evaluation_seconds.time(), transaction.atomic():
        with connection.cursor() as cursor:
            for reading in readings:
                params = _params(reading)
                cursor.execute(_REARM, params)
                cursor.execute(_FIRE, params)
                fired += [(pk, reading) for (pk,) in cursor.fetchall()]
        events = _store_events(fired)
    return events


def _store_events(fired: list[tuple[int, Reading]]) -> list[AlertEvent]:
    if not fired:
        return []
    alerts = Alert.objects.select_related("asset", "user").in_bulk(
        [pk for pk, _ in fired]
    )
    events = [_event(alerts[pk], reading) for pk, reading in fired]
    AlertEvent.objects.bulk_create(events)
    for event in events:
        metrics.alerts_fired.labels(event.alert.kind).inc()
    delivery.queue(events)
    return events


def _event(alert: Alert, reading: Reading) -> AlertEvent:
    event = AlertEvent(
        alert=alert,
        user_id=alert.user_id,
        symbol=alert.asset.symbol,
        fired_at=reading.at,
        price=reading.price,
        value=reading.value,
        condition={**conditions.snapshot(alert), **_plain(reading.detail)},
        message=_message(alert, reading)[:300],
        source=reading.source,
    )
    event.alert = alert  # delivery reads the alert's channels and user
    return event


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in detail.items()
    }


def _message(alert: Alert, reading: Reading) -> str:
    quote = settings.QUOTE_CURRENCY
    price = (
        f" (price {reading.price:,.8g} {quote})" if reading.price is not None else ""
    )
    if alert.kind == AlertKind.PRICE:
        return f"{alert.asset.symbol} is {alert.direction} {alert.level:,.8g} {quote}: {reading.value:,.8g}"
    if alert.kind == AlertKind.MOVE:
        return (
            f"{alert.asset.symbol} moved {reading.value:+.2f}% within {alert.window}"
            f"{price}"
        )
    if alert.kind == AlertKind.INDICATOR:
        return (
            f"{conditions.describe(alert)}: {reading.value:.4g} on the candle closed "
            f"at {reading.at:%Y-%m-%d %H:%M}Z"
        )
    return f"{alert.asset.symbol}: {reading.detail.get('kind')} anomaly{price}"


# --- Entry points ------------------------------------------------------------------------


def check_prices(prices: Iterable[LatestPrice]) -> list[AlertEvent]:
    """Every fresh price: price alerts, and the % moves of the windows alerts use."""
    by_symbol = {p["symbol"]: p for p in prices}
    if not by_symbol:
        return []
    ids = dict(
        Asset.objects.filter(symbol__in=list(by_symbol)).values_list("symbol", "id")
    )
    readings = [
        Reading(ids[s], s, "price", float(p["price"]), _time(p["as_of"]),
                float(p["price"]), p["source"], {})
        for s, p in by_symbol.items() if s in ids
    ]  # fmt: skip
    windows = (
        Alert.objects.filter(
            enabled=True, kind=AlertKind.MOVE, asset_id__in=ids.values()
        )
        .values_list("asset_id", "asset__symbol", "window")
        .distinct()
    )
    for asset_id, symbol, window in windows:
        price = by_symbol[symbol]
        reading = conditions.move_reading(
            asset_id=asset_id, symbol=symbol, window=window,
            price=float(price["price"]), at=_time(price["as_of"]),
            source=price["source"],
        )  # fmt: skip
        if reading is not None:
            readings.append(reading)
    return check_readings(readings)


def check_candles(*, asset_id: int, until: datetime) -> list[AlertEvent]:
    """Indicator alerts of the asset, on the last candle of each one's interval that
    closed by `until` (the end of the candles just written, or now)."""
    rules = (
        Alert.objects.filter(asset_id=asset_id, kind=AlertKind.INDICATOR, enabled=True)
        .select_related("asset")
        .order_by("metric")
        .distinct("metric")
    )
    readings = []
    for alert in rules:
        found = conditions.indicator_value(
            asset_id=asset_id,
            symbol=alert.asset.symbol,
            rule=conditions.alert_rule(alert),
            until=min(until, datetime.now(UTC)),
        )
        if found is not None:
            value, at = found
            reading = Reading(asset_id, alert.asset.symbol, alert.metric, value, at,
                              None, "candles", {})  # fmt: skip
            readings.append(reading)
    return check_readings(readings)


def check_anomalies(anomalies: Iterable[Anomaly]) -> list[AlertEvent]:
    """New anomalies younger than ANOMALY_PUBLISH_MAX_AGE (older ones are history being
    imported: stored, not alerted on, as they are not pushed live either)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.ANOMALY_PUBLISH_MAX_AGE)
    events: list[AlertEvent] = []
    for anomaly in sorted(anomalies, key=lambda a: a.time):
        if anomaly.pk is None or anomaly.time < cutoff:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _FIRE_ANOMALY,
                {
                    "asset_id": anomaly.asset_id,
                    "kind": anomaly.kind,
                    "at": anomaly.time,
                },
            )
            symbol = anomaly.asset.symbol
            detail = {"kind": anomaly.kind, "interval": anomaly.interval,
                      "window": anomaly.window, "score": anomaly.score,
                      "anomaly_id": anomaly.pk}  # fmt: skip
            reading = Reading(anomaly.asset_id, symbol, "anomaly", anomaly.score, anomaly.time, None,
                              "anomalies", detail)  # fmt: skip
            events += _store_events([(pk, reading) for (pk,) in cursor.fetchall()])
    return events


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
