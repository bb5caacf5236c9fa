"""Anomaly detection: robust rolling z-scores of returns and volume, and provider
disagreement.

Rules, stated once:

- Measures, per candle: the close-to-close log return (`return`), the intraday low and
  high against the previous close (`intraday`: a crash inside a candle that closes
  calmly, as BTC's 2017-12-22), and the log volume (`volume`, spikes only). Returns
  are taken only between consecutive candles: never across a gap.
- Score: z = (x - median) / (1.4826 x MAD) over the `n` values before x (MAD: median
  absolute deviation; 1.4826 makes it a standard deviation for normal data). A window
  of duration W applies to an interval when it holds ANOMALY_MIN_SAMPLES to
  ANOMALY_MAX_SAMPLES candles (1m: 1h and 24h; 1h: 24h, 7d and 30d; 4h: 7d, 30d and
  90d; 1d: 30d and 90d). A window whose MAD is 0 (a flat, stale series) scores nothing, and the
  scale of returns is at least ANOMALY_MIN_SIGMA (log return): near-flat stretches
  (stale quotes, zero-volume hours) would otherwise turn a 0.3% move into z = 100.
- A measure is an anomaly when |z| >= its threshold (settings ANOMALY_Z_*), recorded once
  per (asset, kind, interval, window, candle): checking again records nothing new.
- Provider disagreement: when the sync replaces a fresh price of one provider by
  another's (fallback or cross-check), a relative gap >= ANOMALY_DISAGREEMENT_PCT.
- New anomalies of the last ANOMALY_PUBLISH_MAX_AGE are published on the price stream of
  their symbol (`{"type": "anomaly", ...}`); older ones (imports of history) are only
  stored.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from numpy.lib.stride_tricks import sliding_window_view

from analytics.alerts.evaluate import check_anomalies
from analytics.models import Anomaly, AnomalyKind
from assets.models import Asset
from prices import selectors
from prices.intervals import DURATIONS, floor_time, next_open
from prices.realtime.broadcast import publish_anomaly

WINDOWS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
MAD_TO_SIGMA = 1.4826
_CHUNK = 2_000_000  # values per sliding-window block (memory bound)


@dataclass(frozen=True, slots=True)
class Found:
    time: datetime
    kind: str
    window: str
    value: float
    score: float
    threshold: float
    detail: dict[str, Any] = field(default_factory=dict)


def windows_for(interval: str) -> dict[str, int]:
    """Window name -> candles it holds, for the windows that apply to `interval`."""
    if interval not in DURATIONS:
        return {}
    step = DURATIONS[interval]
    out = {}
    for name in settings.ANOMALY_WINDOWS:
        n = int(WINDOWS[name] / step)
        if settings.ANOMALY_MIN_SAMPLES <= n <= settings.ANOMALY_MAX_SAMPLES:
            out[name] = n
    return out


def robust_z(
    values: np.ndarray, n: int, first: int, floor: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """z, median and MAD of values[i] against values[i-n:i], for i >= max(first, n);
    the scale is at least `floor` (a MAD of 0 scores nothing)."""
    start = max(first, n)
    size = max(0, len(values) - start)
    z, med, mad = (np.full(size, np.nan) for _ in range(3))
    rows = max(1, _CHUNK // n)
    for a in range(0, size, rows):
        b = min(size, a + rows)
        block = sliding_window_view(values[start + a - n : start + b - 1], n)
        m = np.median(block, axis=1)
        d = np.median(np.abs(block - m[:, None]), axis=1)
        med[a:b], mad[a:b] = m, d
        scale = np.maximum(MAD_TO_SIGMA * d, floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            z[a:b] = np.where(
                d > 0, (values[start + a : start + b] - m) / scale, np.nan
            )
    return z, med, mad, start


def detect(
    *, columns: selectors.CandleColumns, interval: str, since: datetime
) -> list[Found]:
    """Anomalies among the candles of `columns` opening at or after `since`; the
    candles before are the baseline only."""
    windows = windows_for(interval)
    if not windows or len(columns.open_time) < 2:
        return []
    t, high, low = columns.open_time, columns.high, columns.low
    close, volume = columns.close, columns.volume
    step = int(DURATIONS[interval].total_seconds())
    after = np.flatnonzero(np.diff(t) == step) + 1  # candles following their previous
    previous = close[after - 1]
    measures = {
        AnomalyKind.RETURN: (t[after], np.log(close[after] / previous)),
        "drop": (t[after], np.log(low[after] / previous)),
        "rise": (t[after], np.log(high[after] / previous)),
    }
    traded = np.flatnonzero(volume > 0)
    measures[AnomalyKind.VOLUME] = (t[traded], np.log(volume[traded]))
    thresholds = {
        AnomalyKind.RETURN: settings.ANOMALY_Z_RETURN,
        "drop": settings.ANOMALY_Z_INTRADAY,
        "rise": settings.ANOMALY_Z_INTRADAY,
        AnomalyKind.VOLUME: settings.ANOMALY_Z_VOLUME,
    }
    since_epoch = since.timestamp()
    found: dict[tuple[str, str, int], Found] = {}
    for name, n in windows.items():
        for measure, (times, values) in measures.items():
            first = int(np.searchsorted(times, since_epoch))
            floor = 0.0 if measure == "volume" else settings.ANOMALY_MIN_SIGMA
            z, med, mad, start = robust_z(values, n, first, floor)
            threshold = thresholds[measure]
            hits = np.abs(z) >= threshold if measure != "volume" else z >= threshold
            for k in np.flatnonzero(hits).tolist():
                i = start + k
                kind = AnomalyKind.INTRADAY if measure in ("drop", "rise") else measure
                key = (kind, name, int(times[i]))
                score = float(z[k])
                if key in found and abs(found[key].score) >= abs(score):
                    continue  # intraday: keep the stronger of the low and the high
                found[key] = Found(
                    time=datetime.fromtimestamp(int(times[i]), UTC),
                    kind=kind,
                    window=name,
                    value=float(values[i]),
                    score=round(score, 4),
                    threshold=threshold,
                    detail={
                        "measure": measure,
                        "change_pct": round(math.expm1(values[i]) * 100, 4)
                        if measure != "volume"
                        else None,
                        "median": float(med[k]),
                        "mad": float(mad[k]),
                        "samples": n,
                    },
                )
    return sorted(found.values(), key=lambda f: (f.time, f.kind, f.window))


def detect_anomalies(
    *, asset_id: int, interval: str, start: datetime, end: datetime
) -> list[Anomaly]:
    """Checks the `interval` candles opening in [start, end] against their trailing
    windows; stores what is new (idempotent) and publishes the recent ones."""
    windows = windows_for(interval)
    if not windows:
        return []
    first = floor_time(start, interval)
    columns = selectors.candle_columns(
        asset_id=asset_id,
        interval=interval,
        start=first,
        end=next_open(floor_time(end, interval), interval),
        before=max(windows.values()) + 1,
    )
    found = detect(columns=columns, interval=interval, since=first)
    return store(asset_id=asset_id, interval=interval, found=found)


def store(*, asset_id: int, interval: str, found: list[Found]) -> list[Anomaly]:
    """Records the anomalies not recorded yet; returns (and publishes) those."""
    if not found:
        return []
    existing = set(
        Anomaly.objects.filter(
            asset_id=asset_id,
            interval=interval,
            time__gte=found[0].time,
            time__lte=found[-1].time,
        ).values_list("kind", "window", "time")
    )
    new = [
        Anomaly(
            asset_id=asset_id,
            interval=interval,
            time=f.time,
            kind=f.kind,
            window=f.window,
            value=f.value,
            score=f.score,
            threshold=f.threshold,
            detail=f.detail,
        )
        for f in found
        if (f.kind, f.window, f.time) not in existing
    ]
    try:
        with transaction.atomic():
            Anomaly.objects.bulk_create(new)  # sets the ids, for publishing
    except IntegrityError:
        # A concurrent check stored some of them first: keep the rest, publish none
        # (the other check published its own).
        Anomaly.objects.bulk_create(new, ignore_conflicts=True)
        return []
    publish_recent(new)
    check_anomalies(new)
    return new


def record_price_disagreements(*, items: list[dict[str, Any]]) -> list[Anomaly]:
    """Each item: a new price (`price`, `as_of`, `source`) and the fresh one of another
    provider it replaced (`other_price`, `other_as_of`, `other_source`)."""
    threshold = settings.ANOMALY_DISAGREEMENT_PCT
    recorded = []
    for item in items:
        other = float(item["other_price"])
        if other <= 0:
            continue
        gap = abs(float(item["price"]) - other) / other
        if gap * 100 < threshold:
            continue
        anomaly, created = Anomaly.objects.get_or_create(
            asset_id=item["asset_id"],
            kind=AnomalyKind.PROVIDER_DISAGREEMENT,
            interval="",
            window="",
            time=datetime.fromisoformat(item["as_of"]),
            defaults={
                "value": gap,
                "score": round(gap * 100, 4),
                "threshold": threshold,
                "detail": {k: item[k] for k in item if k != "asset_id"},
            },
        )
        if created:
            recorded.append(anomaly)
    publish_recent(recorded)
    check_anomalies(recorded)
    return recorded


def anomaly_payload(anomaly: Anomaly, symbol: str) -> dict[str, Any]:
    return {
        "id": anomaly.pk,
        "symbol": symbol,
        "time": anomaly.time,
        "kind": anomaly.kind,
        "interval": anomaly.interval or None,
        "window": anomaly.window or None,
        "value": anomaly.value,
        "score": anomaly.score,
        "threshold": anomaly.threshold,
        "detail": anomaly.detail,
    }


def publish_recent(anomalies: list[Anomaly]) -> int:
    """Publishes the anomalies of the last ANOMALY_PUBLISH_MAX_AGE seconds."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.ANOMALY_PUBLISH_MAX_AGE)
    recent = [a for a in anomalies if a.time >= cutoff]
    if not recent:
        return 0
    symbols = dict(
        Asset.objects.filter(pk__in={a.asset_id for a in recent}).values_list(
            "id", "symbol"
        )
    )
    sent = 0
    for anomaly in recent:
        if anomaly.pk is None:  # lost a race to an identical one: already published
            continue
        symbol = symbols[anomaly.asset_id]
        sent += (
            publish_anomaly(
                symbol=symbol,
                as_of=anomaly.time,
                anomaly=anomaly_payload(anomaly, symbol),
            )
            is not None
        )
    return sent
