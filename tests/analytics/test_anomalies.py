"""Anomaly detection on the real demo data, its API, live publishing, and the sync hooks
through a real Celery worker."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from django.db import transaction
from django_redis import get_redis_connection

from analytics import anomalies
from analytics.models import Anomaly
from assets.models import Asset
from prices.ingest.tasks import queue_sync
from prices.latest import record_latest_prices
from prices.models import Candle
from prices.realtime.broadcast import channel_prefix, price_group
from tests import servers
from tests.factories import AssetFactory
from tests.prices.history import load_demo, unthrottled

__all__ = ["unthrottled"]

URL = "/api/v1/analytics/anomalies/"
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def check(asset: Asset, interval: str) -> list[Anomaly]:
    return anomalies.detect_anomalies(
        asset_id=asset.pk, interval=interval, start=EVERYTHING[0], end=EVERYTHING[1]
    )


def found(asset: Asset, day: str, kind: str | None = None) -> list[Anomaly]:
    moment = datetime.fromisoformat(day)
    rows = Anomaly.objects.filter(asset=asset, time=moment)
    return list(rows.filter(kind=kind) if kind else rows)


@pytest.fixture
def ada(db):  # type: ignore[no-untyped-def]
    return AssetFactory(symbol="ADA", name="Cardano")


@pytest.mark.django_db
def test_the_named_crashes_of_the_demo_data_are_found(ada, btc):
    load_demo(ada, "binance_2020_ADA-USDT_1d.csv.gz", "binance_2020_ADA-USDT_1m.csv.gz")
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz", "binance_2018-06_BTC-USDT_1m.csv.gz")
    for asset, interval in [(ada, "1d"), (ada, "1m"), (btc, "1d"), (btc, "1m")]:
        check(asset, interval)
    # ADA 2020-03-12: -41% close to close.
    (crash, *_) = found(ada, "2020-03-12T00:00:00+00:00", "return")
    assert crash.detail["change_pct"] == pytest.approx(-41.32, abs=0.01)
    assert crash.score <= -8
    assert crash.window in ("30d", "90d")
    # BTC 2017-12-22: closed -9.8%, but traded 34% below the previous close.
    (drop, *_) = found(btc, "2017-12-22T00:00:00+00:00", "intraday")
    assert drop.detail["measure"] == "drop"
    assert drop.detail["change_pct"] == pytest.approx(-34.0, abs=0.1)
    # Flash moves of the 1m files, scored against their last hour.
    assert found(btc, "2018-06-18T16:27:00+00:00", "return")[0].window == "1h"
    assert (
        found(ada, "2020-04-24T18:32:00+00:00", "return")[0].detail["change_pct"] < -0.9
    )


@pytest.mark.django_db
def test_nothing_is_found_in_the_calmest_month(btc):
    """The calm stretch is picked independently of the detector: the 30 days of BTC
    daily candles with the lowest standard deviation of returns (after the first 90)."""
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz")
    check(btc, "1d")
    rows = list(
        Candle.objects.filter(asset=btc, interval="1d")
        .order_by("open_time")
        .values_list("open_time", "close")
    )
    closes = np.array([c for _, c in rows])
    returns = np.diff(np.log(closes))
    spreads = [returns[i : i + 30].std() for i in range(90, len(returns) - 30)]
    first = 90 + int(np.argmin(spreads)) + 1
    start, end = rows[first][0], rows[first + 30][0]
    assert Anomaly.objects.filter(asset=btc).count() > 20  # the detector is awake
    assert list(Anomaly.objects.filter(asset=btc, time__gte=start, time__lt=end)) == []


@pytest.mark.django_db
def test_checking_again_records_nothing_new(ada):
    load_demo(ada, "binance_2020_ADA-USDT_1d.csv.gz")
    first = check(ada, "1d")
    assert first
    assert check(ada, "1d") == []
    assert Anomaly.objects.count() == len(first)


@pytest.mark.django_db
def test_returns_are_not_taken_across_a_gap(btc):
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz")
    check(btc, "1d")
    # 2019-04-01 follows the 12-day hole: no return of it against 2019-03-19.
    assert found(btc, "2019-04-01T00:00:00+00:00", "return") == []


@pytest.mark.django_db
@pytest.mark.usefixtures("unthrottled")
def test_the_list_filters_by_symbol_kind_and_since_and_pages_by_cursor(
    api_client, ada, btc
):
    load_demo(ada, "binance_2020_ADA-USDT_1d.csv.gz")
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz")
    check(ada, "1d")
    check(btc, "1d")
    body = api_client.get(URL, {"symbol": "ada", "kind": "return"}).json()
    assert {a["symbol"] for a in body["results"]} == {"ADA"}
    assert {a["kind"] for a in body["results"]} == {"return"}
    assert (
        len(body["results"]) == Anomaly.objects.filter(asset=ada, kind="return").count()
    )
    since = api_client.get(
        URL, {"since": "2019-01-01T00:00:00Z", "symbol": "BTC"}
    ).json()
    assert all(a["time"] >= "2019-01-01T00:00:00Z" for a in since["results"])
    seen, url, params = [], URL, {"limit": 7}
    while url:
        page = api_client.get(url, params).json()
        seen += [a["id"] for a in page["results"]]
        url, params = page["next"], None
    assert len(seen) == len(set(seen)) == Anomaly.objects.count()
    times = [Anomaly.objects.get(pk=i).time for i in seen]
    assert times == sorted(times, reverse=True)
    for params, field in [({"kind": "nope"}, "kind"), ({"cursor": "{x"}, "cursor"),
                          ({"limit": "501"}, "limit"), ({"since": "soon"}, "since")]:  # fmt: skip
        bad = api_client.get(URL, params)
        assert bad.status_code == 400, params
        assert field in bad.json()["error"]["details"]


@pytest.mark.django_db
def test_a_recent_anomaly_is_published_on_the_symbols_price_stream(btc):
    pubsub = get_redis_connection("default").pubsub()
    pubsub.subscribe(channel_prefix() + price_group("BTC"))
    pubsub.get_message(timeout=1)  # the subscription confirmation
    now = datetime.now(UTC).replace(microsecond=0)
    old = anomalies.Found(now - timedelta(days=400), "return", "30d", -0.5, -9.0, 8.0)
    new = anomalies.Found(now, "return", "30d", -0.5, -9.0, 8.0)
    stored = anomalies.store(asset_id=btc.pk, interval="1d", found=[old, new])
    assert len(stored) == 2
    message = pubsub.get_message(timeout=2)
    frame = orjson.loads(message["data"])
    assert frame["type"] == "anomaly"
    assert frame["symbol"] == "BTC"
    assert frame["anomaly"]["kind"] == "return"
    assert frame["as_of"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert pubsub.get_message(timeout=0.5) is None  # the 400-day-old one stays quiet
    pubsub.close()


def wait_for(condition, seconds: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_imported_candles_and_synced_prices(server_env):
    """Imports and syncs enqueue the checks after commit; a real worker runs them."""
    env = {**server_env, "MARKET_PROVIDERS": "replay"}
    ada = AssetFactory(symbol="ADA", name="Cardano")
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    # Another provider's fresh BTC price, far from the replayed one.
    record_latest_prices([(btc, 1.0, datetime.now(UTC), "coingecko")])
    with servers.celery_worker(env):
        load_demo(ada, "binance_2020_ADA-USDT_1d.csv.gz")
        with transaction.atomic():
            run = queue_sync(job="prices", params={"limit": 50})
        assert wait_for(
            lambda: Anomaly.objects.filter(
                asset=ada, time=datetime(2020, 3, 12, tzinfo=UTC), kind="return"
            ).exists()
        )
        assert wait_for(
            lambda: Anomaly.objects.filter(
                asset=btc, kind="provider_disagreement"
            ).exists()
        )
    run.refresh_from_db()
    assert run.status == "succeeded"
    disagreement = Anomaly.objects.get(asset=btc, kind="provider_disagreement")
    assert disagreement.detail["other_source"] == "coingecko"
    assert disagreement.detail["source"] == "replay"
    assert disagreement.score > 2.0


@pytest.mark.django_db
def test_btcs_december_2017_and_february_2018_drops_show_in_its_hourly_candles(btc):
    """BTC's daily closes of 2017-12-22 (-9.8%) and 2018-02-05 (-15.5%) are no outliers
    against their own volatile month (daily z about -2 to -3); the hours are."""
    load_demo(btc, "coinbase_BTC-USD_1h.csv.gz")
    anomalies.detect_anomalies(
        asset_id=btc.pk,
        interval="1h",
        start=datetime(2017, 12, 1, tzinfo=UTC),
        end=datetime(2018, 2, 28, tzinfo=UTC),
    )
    (drop, *_) = found(btc, "2017-12-22T13:00:00+00:00", "return")
    assert drop.detail["change_pct"] == pytest.approx(-12.33, abs=0.01)
    assert drop.score <= -8
    # 2018-02-05: the hour after the capitulation low (6,426.94 at 19:00) traded 14%
    # above the previous close.
    (spike, *_) = found(btc, "2018-02-05T20:00:00+00:00", "intraday")
    assert spike.detail["measure"] == "rise"
    assert spike.detail["change_pct"] == pytest.approx(14.08, abs=0.01)
    assert (
        Anomaly.objects.filter(
            asset=btc, time__lt=datetime(2017, 12, 1, tzinfo=UTC)
        ).count()
        == 0
    )
