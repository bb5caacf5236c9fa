"""GET /api/v1/analytics/market/ and the replay provider's derived listing figures.

Expected figures are recomputed here: from the demo files read independently of the code
(gzip + csv), from the recorded CoinGecko payload in tests/data, and from the asset rows.
"""

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from analytics.models import MarketReport
from assets.models import Asset
from prices.ingest.providers.replay import Replay
from prices.ingest.sync import run_sync
from prices.models import SyncRun
from tests.factories import SyncRunFactory
from tests.prices.demo import DEMO_DIR
from tests.prices.history import load_demo, unthrottled

__all__ = ["unthrottled"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("unthrottled")]

URL = "/api/v1/analytics/market/"
NOW = datetime(2026, 12, 1, 12, 0, 7, tzinfo=UTC)
PAYLOAD = (
    Path(__file__).resolve().parents[1]
    / "data/providers/coingecko/coins_markets_recorded_2022-03-22.json"
)


def recorded(name: str) -> list[tuple[datetime, float, float, float, float, float]]:
    with gzip.open(DEMO_DIR / name, "rt") as handle:
        rows = {r[0]: r for r in list(csv.reader(handle))[1:]}
    return [(datetime.fromisoformat(t), *map(float, rows[t][1:])) for t in sorted(rows)]


def replayed_at(series: list, seconds: int, moment: datetime) -> tuple:
    return series[int(moment.timestamp() // seconds) % len(series)]


def sync_listings(now: datetime) -> SyncRun:
    run = SyncRunFactory(job="prices", params={"limit": 50})
    return run_sync(run_id=run.pk, providers=[Replay(now=now)])


def test_replay_derives_24h_volume_and_change_from_the_replayed_candles():
    listings = {x.symbol: x for x in Replay(now=NOW).listings(limit=50).records}
    minutes = recorded("binance_2018-06_BTC-USDT_1m.csv.gz")
    current = NOW.replace(second=0)
    window = [
        replayed_at(minutes, 60, current - timedelta(minutes=n)) for n in range(1440)
    ]
    before = replayed_at(minutes, 60, current - timedelta(minutes=1440))
    btc = listings["BTC"]
    assert btc.volume_24h == pytest.approx(sum(c[5] * c[4] for c in window), rel=1e-12)
    assert btc.change_24h == pytest.approx((window[0][4] / before[4] - 1) * 100)
    # LTC is recorded daily only: 24h is one candle.
    days = recorded("bitstamp_LTC-USD_1d.csv.gz")
    today = NOW.replace(hour=0, minute=0, second=0)
    ltc_now = replayed_at(days, 86400, today)
    ltc_before = replayed_at(days, 86400, today - timedelta(days=1))
    assert listings["LTC"].volume_24h == pytest.approx(ltc_now[5] * ltc_now[4])
    assert listings["LTC"].change_24h == pytest.approx(
        (ltc_now[4] / ltc_before[4] - 1) * 100
    )


def test_replay_takes_supply_from_the_recorded_payload_and_ranks_by_cap():
    payload = {e["symbol"].upper(): e for e in json.loads(PAYLOAD.read_text())}
    listings = {x.symbol: x for x in Replay(now=NOW).listings(limit=50).records}
    with_supply = {s for s, x in listings.items() if x.circulating_supply is not None}
    assert with_supply == {"BTC", "ETH", "XRP", "BNB"}  # the demo assets it holds
    for symbol in with_supply:
        listing = listings[symbol]
        assert listing.circulating_supply == payload[symbol]["circulating_supply"]
        assert listing.market_cap == pytest.approx(
            listing.price * listing.circulating_supply
        )
    by_cap = sorted(with_supply, key=lambda s: -listings[s].market_cap)
    assert [listings[s].rank for s in by_cap] == [1, 2, 3, 4]
    for symbol in {"ADA", "SOL", "NEO", "LTC"}:
        assert listings[symbol].market_cap is None
        assert listings[symbol].rank is None


def test_overview_after_a_replay_sync_equals_figures_recomputed_from_the_assets(
    api_client,
):
    assert sync_listings(NOW).status == "succeeded"
    body = api_client.get(URL, {"top": 3}).json()
    assets = list(Asset.objects.tracked())
    capped = [a for a in assets if a.market_cap is not None]
    assert body["assets"] == len(assets) == 8
    assert body["total_market_cap"]["value"] == pytest.approx(
        sum(a.market_cap for a in capped)
    )
    assert sorted(body["total_market_cap"]["missing"]) == ["ADA", "LTC", "NEO", "SOL"]
    assert body["total_volume_24h"]["value"] == pytest.approx(
        sum(a.volume_24h for a in assets if a.volume_24h is not None)
    )
    top = sorted(capped, key=lambda a: -a.market_cap)[:3]
    assert [d["symbol"] for d in body["dominance"]["results"]] == [
        a.symbol for a in top
    ]
    total = sum(a.market_cap for a in capped)
    assert body["dominance"]["results"][0]["share"] == pytest.approx(
        top[0].market_cap / total
    )
    moved = sorted(assets, key=lambda a: a.change_24h)
    assert [g["symbol"] for g in body["gainers"]["results"]] == [
        a.symbol for a in moved[::-1][:3]
    ]
    assert [g["symbol"] for g in body["losers"]["results"]] == [
        a.symbol for a in moved[:3]
    ]
    breadth = body["breadth"]
    assert breadth["advancing"] == sum(a.change_24h > 0 for a in assets)
    assert breadth["declining"] == sum(a.change_24h < 0 for a in assets)
    assert breadth["advancing"] + breadth["declining"] + breadth["unchanged"] == 8
    # Provenance: the listing sync's provider and time; supply dated as its payload.
    assert body["total_market_cap"]["source"].startswith("replay")
    assert body["total_volume_24h"]["as_of"] is not None
    supply = {s["symbol"]: s for s in body["supply"]["results"]}
    assert supply["BTC"]["as_of"].startswith("2022-03-22T17:59")
    assert "coingecko" in supply["BTC"]["source"]
    assert body["report"] is None


@time_machine.travel("2019-10-18T12:00Z", tick=False)
def test_the_trend_is_daily_closes_times_supply_and_names_what_it_leaves_out(
    api_client, btc, eth
):
    load_demo(btc, "coinbase_BTC-USD_1d.csv.gz")
    load_demo(eth, "coinbase_ETH-USD_1d.csv.gz")
    Asset.objects.filter(pk=btc.pk).update(circulating_supply=18_000_000.0)
    body = api_client.get(URL, {"trend_days": 10}).json()
    trend = body["trend"]
    closes = {t: c for t, _, _, _, c, _ in recorded("coinbase_BTC-USD_1d.csv.gz")}
    days = [datetime(2019, 10, 9, tzinfo=UTC) + timedelta(days=n) for n in range(9)]
    assert [p["time"] for p in trend["points"]] == [
        d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in days
    ]
    for point, day in zip(trend["points"], days, strict=True):
        assert point["market_cap"] == pytest.approx(closes[day] * 18_000_000.0)
        assert point["complete"] is True
    assert trend["included"] == ["BTC"]
    assert trend["excluded"] == [
        {"symbol": "ETH", "reason": "no circulating supply known"}
    ]


def test_cached_until_a_sync_or_a_report(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sync_listings(NOW)
    assert api_client.get(URL)["X-Cache"] == "MISS"
    assert api_client.get(URL)["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        sync_listings(NOW + timedelta(minutes=5))
    assert api_client.get(URL)["X-Cache"] == "MISS"
    assert api_client.get(URL)["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        run = SyncRunFactory(job="report", params={"day": "2026-12-01"})
        run_sync(run_id=run.pk, providers=[])
    response = api_client.get(URL)
    assert response["X-Cache"] == "MISS"
    report = response.json()["report"]
    assert report["day"] == "2026-12-01"
    assert report["data"] == MarketReport.objects.get().data


@pytest.mark.parametrize(
    ("params", "field"), [({"top": 0}, "top"), ({"trend_days": 366}, "trend_days")]
)
def test_bad_parameters_are_400s_naming_them(api_client, params, field):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
