"""Portfolio value over time from real stored candles (Coinbase BTC-USD hourly, ETH-USD
daily; data/demo/README.md), checked against values computed here from the CSV files."""

import csv
import gzip
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import pytest

from prices.importing import read_candles
from prices.models import Candle
from prices.services import upsert_candles
from tests.portfolio.helpers import new_portfolio, post_trade
from tests.prices.demo import DEMO_DIR

pytestmark = pytest.mark.django_db

BTC_1H = DEMO_DIR / "coinbase_BTC-USD_1h.csv.gz"
ETH_1D = DEMO_DIR / "coinbase_ETH-USD_1d.csv.gz"
TRADES = [
    ("BTC", "buy", "0.5", "14000", "5", "2018-01-02T10:30:00Z"),
    ("ETH", "buy", "10", "950", "2", "2018-01-04T12:00:00Z"),
    ("BTC", "sell", "0.2", "17000", "3", "2018-01-06T15:00:00Z"),
    ("ETH", "sell", "4", "1100", "1", "2018-01-08T09:00:00Z"),
]
WINDOW = (datetime(2017, 12, 1, tzinfo=UTC), datetime(2018, 2, 1, tzinfo=UTC))
DAYS = [datetime(2018, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in range(9)]


def csv_closes(path) -> dict[datetime, tuple[datetime, Fraction]]:  # type: ignore[no-untyped-def]
    with gzip.open(path, "rt") as handle:
        return {
            datetime.fromisoformat(row["timestamp"]): Fraction(row["close"])
            for row in csv.DictReader(handle)
        }


def daily_close(closes: dict, day: datetime) -> Fraction | None:  # type: ignore[type-arg]
    """The close of the last candle opening within `day`."""
    inside = [t for t in closes if day <= t < day + timedelta(days=1)]
    return closes[max(inside)] if inside else None


def as_text(value: Fraction, places: str) -> str:
    with localcontext(prec=100):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return (
            f"{exact.quantize(Decimal(places), rounding=ROUND_HALF_EVEN).normalize():f}"
        )


def expected(btc_closes: dict, eth_closes: dict) -> tuple[list, str]:  # type: ignore[type-arg]
    held = {"BTC": Fraction(0), "ETH": Fraction(0)}
    last: dict[str, Fraction | None] = {"BTC": None, "ETH": None}
    previous, growth, points = Fraction(0), Fraction(1), []
    for day in DAYS:
        close = day + timedelta(days=1)
        cash_in = cash_out = Fraction(0)
        for symbol, side, q, p, f, at in TRADES:
            if day <= datetime.fromisoformat(at) < close:
                q, p, f = Fraction(q), Fraction(p), Fraction(f)
                if side == "buy":
                    held[symbol] += q
                    cash_in += q * p + f
                else:
                    held[symbol] -= q
                    cash_out += q * p - f
        for symbol, closes in (("BTC", btc_closes), ("ETH", eth_closes)):
            price = daily_close(closes, day)
            last[symbol] = price if price is not None else last[symbol]
        value = sum(held[s] * last[s] for s in held if held[s])  # type: ignore[operator]
        period = None
        if previous + cash_in > 0:
            period = (value + cash_out) / (previous + cash_in) - 1
            growth *= 1 + period
        points.append(
            {
                "time": close.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "value": as_text(value, "1e-8"),
                "net_flow": as_text(cash_in - cash_out, "1e-8"),
                "return_pct": None if period is None else as_text(period * 100, "1e-4"),
            }
        )
        previous = value
    return points, as_text((growth - 1) * 100, "1e-4")


@pytest.fixture
def history(btc, eth):  # type: ignore[no-untyped-def]
    """The real candles of December 2017 and January 2018 (what the trades need)."""
    for path, asset, interval in ((BTC_1H, btc, "1h"), (ETH_1D, eth, "1d")):
        rows = [
            r
            for r in read_candles(path)
            if not isinstance(r, str) and WINDOW[0] <= r.open_time < WINDOW[1]
        ]
        result = upsert_candles(
            asset=asset, interval=interval, rows=rows, source="coinbase"
        )
        assert result.inserted == len(rows) > 0


@pytest.fixture
def portfolio(alice_client, history):  # type: ignore[no-untyped-def]
    url = new_portfolio(alice_client)
    for symbol, side, q, p, f, at in TRADES:
        response = post_trade(
            alice_client,
            url,
            symbol=symbol,
            side=side,
            quantity=q,
            price=p,
            fee=f,
            at=at,
        )
        assert response.status_code == 201, response.content
    return url


def get(client, url: str, **params):  # type: ignore[no-untyped-def]
    return client.get(f"{url}performance/", params)


def test_daily_values_and_time_weighted_return_match_the_csv_files(
    alice_client, portfolio
):
    body = get(
        alice_client, portfolio, interval="1d", start="2018-01-01T00:00:00Z",
        end="2018-01-09T23:00:00Z",
    ).json()  # fmt: skip
    points, twr = expected(csv_closes(BTC_1H), csv_closes(ETH_1D))
    assert body["points"] == points
    assert body["time_weighted_return_pct"] == twr
    assert (body["interval"], body["start"], body["currency"]) == (
        "1d",
        "2018-01-01T00:00:00Z",
        "USD",
    )
    # Hourly BTC candles make daily values; ETH has daily candles of its own.
    assert body["prices"] == [
        {"symbol": "BTC", "candle_interval": "1h", "gaps": []},
        {"symbol": "ETH", "candle_interval": "1d", "gaps": []},
    ]
    assert points[0]["value"] == "0"  # nothing held on the first day
    assert points[0]["return_pct"] is None


def test_a_missing_candle_is_reported_and_the_last_close_carried_forward(
    alice_client, portfolio, eth
):
    gap = datetime(2018, 1, 7, tzinfo=UTC)
    Candle.objects.filter(asset=eth, interval="1d", open_time=gap).delete()
    body = get(
        alice_client,
        portfolio,
        start="2018-01-01T00:00:00Z",
        end="2018-01-09T23:00:00Z",
    ).json()
    eth_closes = csv_closes(ETH_1D)
    del eth_closes[gap]
    points, twr = expected(csv_closes(BTC_1H), eth_closes)
    assert body["points"] == points
    assert body["time_weighted_return_pct"] == twr
    assert body["prices"][1] == {
        "symbol": "ETH",
        "candle_interval": "1d",
        "gaps": ["2018-01-07T00:00:00Z"],
    }


def test_without_candles_fine_enough_a_held_asset_has_no_value(alice_client, portfolio):
    body = get(
        alice_client, portfolio, interval="4h", start="2018-01-04T00:00:00Z",
        end="2018-01-04T23:59:00Z",
    ).json()  # fmt: skip
    assert [p["symbol"] for p in body["prices"]] == ["BTC", "ETH"]
    assert body["prices"][1]["candle_interval"] is None  # only daily ETH candles
    values = [p["value"] for p in body["points"]]
    # ETH is bought at 12:00: the buckets closing at 04:00, 08:00, 12:00 hold BTC only.
    assert all(v is not None for v in values[:3])
    assert values[3:] == [None, None, None]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "1M"}, "interval"),
        ({"interval": "3d"}, "interval"),
        ({"start": "2018-01-02T00:00:00Z", "end": "2018-01-01T00:00:00Z"}, "end"),
        ({"start": "nope"}, "start"),
        ({"interval": "1h", "start": "2010-01-01T00:00:00Z"}, "start"),
        # Dates near the calendar's ends overflowed the bucket arithmetic (500s).
        ({"end": "9999-12-31T23:30:00Z"}, "end"),
        ({"interval": "1w", "start": "0001-01-01T00:00:00Z"}, "start"),
        ({"end": "9999-12-31T23:59:59-23:59"}, "end"),
        ({"start": "2018-01-01T00:00:00"}, "start"),  # no zone
    ],
)
def test_bad_performance_queries_are_400(alice_client, portfolio, params, field):
    response = get(alice_client, portfolio, **params)
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]


def test_an_empty_portfolio_has_no_return(alice_client, db):
    url = new_portfolio(alice_client)
    body = get(
        alice_client, url, start="2018-01-01T00:00:00Z", end="2018-01-02T00:00:00Z"
    ).json()
    assert body["time_weighted_return_pct"] is None
    assert [p["value"] for p in body["points"]] == ["0", "0"]
