"""Alert evaluation on real PostgreSQL: fire once, re-arm (crossing back, hysteresis,
cooldown), late and redelivered readings, moves against stored demo candles, indicator
crossings on demo candles (checked against an independent RSI), anomalies, and two
connections racing on the same price."""

import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection

from analytics import anomalies
from analytics.alerts import evaluate, services, tasks
from analytics.alerts.conditions import Reading
from analytics.alerts.models import Alert, AlertEvent
from prices.ingest.manual import record_manual_price
from prices.models import Candle
from tests.analytics import reference
from tests.factories import AlertFactory, AssetFactory, UserFactory
from tests.prices.demo import DEMO_DIR
from tests.prices.history import load_demo

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Clock:
    """Prices of one asset, each a second after the last, through the manual-price path
    (latest price, publish, alerts)."""

    def __init__(self, asset, start: datetime = T0) -> None:  # type: ignore[no-untyped-def]
        self.asset, self.at = asset, start

    def price(self, value: float) -> int:
        self.at += timedelta(seconds=1)
        return record_manual_price(
            asset=self.asset, price=value, as_of=self.at, user=None
        ).alerts_fired


def alert(user, asset, **rule) -> Alert:  # type: ignore[no-untyped-def]
    return services.create_alert(user=user, asset=asset, fields=rule)


def test_fires_once_on_the_crossing_and_again_only_after_crossing_back(alice, btc):
    above = alert(alice, btc, kind="price", direction="above", level=100)
    below = alert(alice, btc, kind="price", direction="below", level=90)
    clock = Clock(btc)
    fired = [clock.price(p) for p in (99, 101, 102, 150, 99.5, 100, 89, 95, 90)]
    assert fired == [0, 1, 0, 0, 0, 1, 1, 0, 1]
    events = list(AlertEvent.objects.order_by("id"))
    assert [(e.alert_id, e.price) for e in events] == [
        (above.pk, 101), (above.pk, 100), (below.pk, 89), (below.pk, 90),
    ]  # fmt: skip
    first = events[0]
    assert first.fired_at == T0 + timedelta(seconds=2)
    assert first.user_id == alice.pk
    assert first.symbol == "BTC"
    assert first.condition["description"] == "BTC above 100 USD"
    assert first.source == "manual"
    above.refresh_from_db()
    assert (above.fired_count, above.armed) == (2, True)  # 89 re-armed it


def test_hysteresis_keeps_a_price_wobbling_at_the_level_from_refiring(alice, btc):
    alert(alice, btc, kind="price", direction="above", level=100, hysteresis=2)
    clock = Clock(btc)
    fired = [clock.price(p) for p in (101, 99, 100.5, 98.5, 101, 97.9, 100.1)]
    assert fired == [1, 0, 0, 0, 0, 0, 1]


def test_a_cooldown_rearms_an_alert_whose_condition_still_holds(alice, btc):
    alert(alice, btc, kind="price", direction="above", level=100, cooldown=60)
    clock = Clock(btc)
    assert clock.price(101) == 1
    clock.at += timedelta(seconds=30)
    assert clock.price(102) == 0  # 31 s after firing
    clock.at += timedelta(seconds=29)
    assert clock.price(102) == 1  # 61 s after firing: again
    assert clock.price(103) == 0


def test_an_alert_already_true_when_created_waits_for_the_next_crossing(alice, btc):
    clock = Clock(btc)
    clock.price(105)
    rule = alert(alice, btc, kind="price", direction="above", level=100)
    assert rule.armed is False
    assert [clock.price(p) for p in (106, 99, 101)] == [0, 0, 1]


def test_a_late_or_redelivered_reading_fires_nothing(alice, btc):
    rule = alert(alice, btc, kind="price", direction="above", level=100)
    at = T0 + timedelta(minutes=1)
    crossing = Reading(btc.pk, "BTC", "price", 101, at, 101, "test", {})
    assert len(evaluate.check_readings([crossing])) == 1
    assert evaluate.check_readings([crossing]) == []  # the same message again
    back = Reading(
        btc.pk, "BTC", "price", 99, at + timedelta(seconds=5), 99, "test", {}
    )
    evaluate.check_readings([back])
    rule.refresh_from_db()
    assert rule.armed is True
    # Re-armed at +5 s; the old crossing delivered late still fires nothing.
    assert evaluate.check_readings([crossing]) == []
    assert AlertEvent.objects.count() == 1


def test_other_assets_and_disabled_alerts_are_not_fired(alice, btc, eth):
    alert(alice, eth, kind="price", direction="above", level=100)
    off = alert(alice, btc, kind="price", direction="above", level=100)
    services.update_alert(alert=off, fields={"enabled": False})
    assert Clock(btc).price(101) == 0


def test_among_thousands_of_alerts_only_those_a_price_reaches_change(alice, btc):
    """4,000 alerts over 10 assets at levels 1000-1399, the market at 1200 (those below
    it fired; some wait out a cooldown): a price of 1200.5 fires the one armed alert at
    1200 and changes nothing else, on this asset or another."""
    user = UserFactory()
    assets = [btc, *AssetFactory.create_batch(9)]
    Alert.objects.bulk_create(
        AlertFactory.build(
            user=user, asset=asset, level=float(level), armed=level >= 1200,
            rearm_at=T0 + timedelta(hours=1) if level % 10 == 1 and level < 1200 else None,
        )
        for asset in assets
        for level in range(1000, 1400)
    )  # fmt: skip
    before = set(Alert.objects.values_list("id", "armed", "fired_count", "rearm_at"))
    [event] = evaluate.check_readings(
        [Reading(btc.pk, "BTC", "price", 1200.5, T0, 1200.5, "t", {})]
    )
    assert (event.alert.asset_id, event.alert.level) == (btc.pk, 1200.0)
    after = set(Alert.objects.values_list("id", "armed", "fired_count", "rearm_at"))
    assert before - after == {(event.alert_id, True, 0, None)}


def test_a_move_is_measured_against_the_stored_close_a_window_earlier(alice):
    """Real 1m candles (Binance BTC-USDT, 2018-06-18); the reference is recomputed here
    from the file: the last candle closed by t - 1h."""
    btc = AssetFactory(symbol="BTC")
    load_demo(btc, "binance_2018-06_BTC-USDT_1m.csv.gz")
    frame = pd.read_csv(DEMO_DIR / "binance_2018-06_BTC-USDT_1m.csv.gz")
    opens = pd.to_datetime(frame.iloc[:, 0], utc=True, format="mixed")
    at = datetime(2018, 6, 18, 12, 0, 30, tzinfo=UTC)
    closed = frame[
        opens + pd.Timedelta(minutes=1) <= pd.Timestamp(at - timedelta(hours=1))
    ]
    expected_reference = float(closed.iloc[-1]["close"])
    up = alert(alice, btc, kind="move", direction="up", percent=5, window="1h")
    down = alert(alice, btc, kind="move", direction="down", percent=5, window="1h")
    clock = Clock(btc, start=at - timedelta(seconds=1))
    assert clock.price(expected_reference * 1.049) == 0
    assert clock.price(expected_reference * 1.06) == 1
    [event] = AlertEvent.objects.filter(alert=up)
    assert event.condition["reference_price"] == expected_reference
    assert event.value == pytest.approx(6.0, abs=1e-9)
    assert clock.price(expected_reference * 0.94) == 1
    assert AlertEvent.objects.filter(alert=down).count() == 1


def test_an_rsi_alert_fires_on_the_closed_candle_where_rsi_crosses(alice, btc):
    """Coinbase BTC-USD daily candles; RSI(14) recomputed independently (Wilder's
    formula, tests/analytics/reference.py); the alert is evaluated by the task the
    candle writes send, as the new candles arrive."""
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz")
    rows = Candle.objects.filter(asset=btc, interval="1d").order_by("open_time")
    closes = pd.Series([c.close for c in rows], index=[c.open_time for c in rows])
    rsi = reference.rsi(closes, 14)
    crossings = [
        day for prev, day in zip(rsi.index[200:], rsi.index[201:], strict=False)
        if rsi[prev] < 70 <= rsi[day]
    ]  # fmt: skip
    day = crossings[0]
    later = Candle.objects.filter(asset=btc, interval="1d", open_time__gte=day)
    kept = list(later.values())
    later.delete()
    rule = alert(alice, btc, kind="indicator", indicator="rsi", params={"timeperiod": 14},
                 interval="1d", direction="above", level=70)  # fmt: skip
    assert rule.armed is True  # RSI below 70 on the last closed candle
    assert rule.state_at == day  # that candle's close: the day the crossing opens
    Candle.objects.bulk_create(Candle(**row) for row in kept)
    fired = tasks.evaluate_candles(btc.pk, "1d", day.isoformat(), day.isoformat())
    assert fired == 1
    [event] = AlertEvent.objects.all()
    assert event.fired_at == day + timedelta(days=1)
    assert event.value == pytest.approx(rsi[day], rel=1e-6)
    # The same candles written again (a re-import): nothing more.
    assert tasks.evaluate_candles(btc.pk, "1d", day.isoformat(), day.isoformat()) == 0


def test_an_anomaly_alert_fires_once_per_anomaly_time(alice, settings):
    """ADA's 2020 crash in the real demo candles, found by the anomaly detector."""
    settings.ANOMALY_PUBLISH_MAX_AGE = 10 * 365 * 86400  # alert on history, here
    ada = AssetFactory(symbol="ADA")
    load_demo(ada, "binance_2020_ADA-USDT_1d.csv.gz")
    rule = alert(alice, ada, kind="anomaly", anomaly_kind="return")
    month = 30 * 86400
    other = alert(alice, ada, kind="anomaly", anomaly_kind="volume", cooldown=month)
    found = anomalies.detect_anomalies(
        asset_id=ada.pk, interval="1d",
        start=datetime(2020, 1, 1, tzinfo=UTC), end=datetime(2021, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    returns = {a.time for a in found if a.kind == "return"}
    assert returns  # the detector found the crash
    fired = AlertEvent.objects.filter(alert=rule)
    assert sorted(e.fired_at for e in fired) == sorted(returns)
    volumes = sorted({a.time for a in found if a.kind == "volume"})
    if volumes:  # a year's cooldown: the first one only
        assert [e.fired_at for e in AlertEvent.objects.filter(alert=other)] == volumes[
            :1
        ]


@pytest.mark.django_db(transaction=True)
def test_two_connections_checking_the_same_price_fire_each_alert_once():
    user, asset = UserFactory(), AssetFactory(symbol="BTC")
    Alert.objects.bulk_create(
        AlertFactory.build(user=user, asset=asset, level=float(100 + n))
        for n in range(50)
    )
    reading = Reading(asset.pk, "BTC", "price", 1000.0, T0, 1000.0, "test", {})
    start = threading.Barrier(2)
    results: list[int] = []

    def check() -> None:
        try:
            start.wait()
            results.append(len(evaluate.check_readings([reading])))
        finally:
            connection.close()  # each thread has a connection of its own

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 50  # each alert by exactly one of the two
    assert AlertEvent.objects.count() == 50
    assert set(Alert.objects.values_list("fired_count", flat=True)) == {1}
