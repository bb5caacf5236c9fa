"""Every figure of /positions/ and /pnl/ against a ledger computed here, independently:
exact rational arithmetic (Fraction), unit lots for FIFO, rounded only at the end."""

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import pytest

pytestmark = pytest.mark.django_db

# (symbol, side, quantity, price, fee, executed_at): recorded in this order, which is not
# time order (two are back-dated), with partial sells spanning lots.
TRADES = [
    ("BTC", "buy", "0.5", "30000.12", "1.5", "2024-01-02T10:00:00Z"),
    ("BTC", "buy", "0.25", "42000", "2.25", "2024-01-10T09:30:00Z"),
    ("ETH", "buy", "3.3333", "2200.5", "0.75", "2024-01-03T00:00:00Z"),
    ("BTC", "sell", "0.6", "45000.99", "3.1", "2024-01-20T16:00:00Z"),
    ("BTC", "buy", "0.1", "25000", "0", "2024-01-01T08:00:00Z"),  # back-dated
    ("ETH", "sell", "1.1111", "2500", "1.25", "2024-02-01T12:00:00Z"),
    (
        "ETH",
        "buy",
        "0.123456789012345678",
        "2100.333333",
        "0.01",
        "2024-01-15T00:00:00Z",
    ),
    ("BTC", "sell", "0.05", "47000", "0.5", "2024-02-02T00:00:00Z"),
    ("ETH", "sell", "2.3456", "2600", "2", "2024-02-03T00:00:00Z"),
]
LATEST = {"BTC": 51234.56, "ETH": 2345.6789}


def expected_ledger(method: str) -> dict:
    """Per symbol: quantity, cost basis of what is held, realized P&L, fees."""
    rows = sorted(
        enumerate(TRADES), key=lambda it: (it[1][5], it[0])
    )  # time, then recorded order
    out: dict = {}
    lots: dict[str, list[list[Fraction]]] = defaultdict(list)  # [qty, cost per unit]
    for _, (symbol, side, q, p, f, _) in rows:
        q, p, f = Fraction(q), Fraction(p), Fraction(f)
        s = out.setdefault(
            symbol, {"qty": Fraction(0), "cost": Fraction(0), "realized": 0, "fees": 0}
        )
        s["fees"] += f
        if side == "buy":
            lots[symbol].append([q, (q * p + f) / q])
            s["qty"] += q
            s["cost"] += q * p + f
            continue
        if method == "fifo":
            left, cost = q, Fraction(0)
            while left:
                take = min(left, lots[symbol][0][0])
                cost += take * lots[symbol][0][1]
                lots[symbol][0][0] -= take
                left -= take
                if lots[symbol][0][0] == 0:
                    lots[symbol].pop(0)
        else:
            cost = q * (s["cost"] / s["qty"])
        s["realized"] += q * p - f - cost
        s["qty"] -= q
        s["cost"] -= cost
    return out


def rounded(value: Fraction, places: str) -> str:
    with localcontext(prec=100):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        text = (
            f"{exact.quantize(Decimal(places), rounding=ROUND_HALF_EVEN).normalize():f}"
        )
    return "0" if text == "-0" else text


def money(value: Fraction) -> str:
    return rounded(value, "1e-8")


def percent(part: Fraction, whole: Fraction) -> str:
    return rounded(part * 100 / whole, "1e-4")


@pytest.fixture
def portfolio_of(alice_client, btc, eth, set_prices):  # type: ignore[no-untyped-def]
    def make(method: str) -> str:
        response = alice_client.post(
            "/api/v1/portfolios/", {"name": method, "cost_basis_method": method}
        )
        url = f"/api/v1/portfolios/{response.json()['id']}/"
        for symbol, side, q, p, f, at in TRADES:
            r = alice_client.post(
                f"{url}trades/",
                {
                    "symbol": symbol.lower(),
                    "side": side,
                    "quantity": q,
                    "price": p,
                    "fee": f,
                    "executed_at": at,
                },
            )
            assert r.status_code == 201, r.content
        set_prices({btc: LATEST["BTC"], eth: LATEST["ETH"]})
        return url

    return make


@pytest.mark.parametrize("method", ["fifo", "average"])
def test_positions_match_the_independent_ledger(alice_client, portfolio_of, method):
    url = portfolio_of(method)
    ledger = expected_ledger(method)
    value = {s: ledger[s]["qty"] * Fraction(str(LATEST[s])) for s in ledger}
    total_value = sum(value.values())
    positions = alice_client.get(f"{url}positions/").json()
    assert [p["symbol"] for p in positions] == ["BTC", "ETH"]
    for p in positions:
        s = ledger[p["symbol"]]
        unrealized = value[p["symbol"]] - s["cost"]
        assert p == {
            "symbol": p["symbol"],
            "quantity": rounded(s["qty"], "1e-18"),
            "cost_basis": money(s["cost"]),
            "average_cost": rounded(s["cost"] / s["qty"], "1e-12"),
            "price": str(LATEST[p["symbol"]]),
            "price_as_of": p["price_as_of"],
            "price_source": "test",
            "market_value": money(value[p["symbol"]]),
            "unrealized_pnl": money(unrealized),
            "unrealized_pnl_pct": percent(unrealized, s["cost"]),
            "allocation_pct": percent(value[p["symbol"]], total_value),
            "realized_pnl": money(s["realized"]),
        }


@pytest.mark.parametrize("method", ["fifo", "average"])
def test_pnl_matches_the_independent_ledger(alice_client, portfolio_of, method):
    url = portfolio_of(method)
    ledger = expected_ledger(method)
    realized = sum(s["realized"] for s in ledger.values())
    unrealized = sum(
        s["qty"] * Fraction(str(LATEST[sym])) - s["cost"] for sym, s in ledger.items()
    )
    fees = sum(s["fees"] for s in ledger.values())
    pnl = alice_client.get(f"{url}pnl/").json()
    assert {k: pnl[k] for k in ("method", "currency", "realized", "unrealized")} == {
        "method": method,
        "currency": "USD",
        "realized": money(realized),
        "unrealized": money(unrealized),
    }
    assert pnl["fees"] == money(fees) == "11.36"
    assert pnl["total"] == money(realized + unrealized)
    assert pnl["unpriced"] == []
    assert [a["realized"] for a in pnl["by_asset"]] == [
        money(ledger["BTC"]["realized"]),
        money(ledger["ETH"]["realized"]),
    ]


def test_fifo_and_average_differ_on_this_ledger(alice_client, portfolio_of):
    """Otherwise the two parametrized tests above could not tell the methods apart."""
    fifo = alice_client.get(f"{portfolio_of('fifo')}pnl/").json()["realized"]
    average = alice_client.get(f"{portfolio_of('average')}pnl/").json()["realized"]
    assert fifo != average
    assert fifo == money(sum(s["realized"] for s in expected_ledger("fifo").values()))


def test_changing_the_method_recomputes_the_figures(alice_client, portfolio_of):
    url = portfolio_of("fifo")
    alice_client.patch(url, {"cost_basis_method": "average"})
    realized = sum(s["realized"] for s in expected_ledger("average").values())
    assert alice_client.get(f"{url}pnl/").json()["realized"] == money(realized)


def test_a_position_without_a_price_is_reported_not_guessed(
    alice_client, btc, eth, set_prices
):
    url = f"/api/v1/portfolios/{alice_client.post('/api/v1/portfolios/', {'name': 'p'}).json()['id']}/"
    for symbol in ("BTC", "ETH"):
        alice_client.post(
            f"{url}trades/",
            {
                "symbol": symbol,
                "side": "buy",
                "quantity": "2",
                "price": "10",
                "fee": "1",
                "executed_at": "2024-01-01T00:00:00Z",
            },
        )
    set_prices({btc: 15.0})
    positions = {p["symbol"]: p for p in alice_client.get(f"{url}positions/").json()}
    assert positions["ETH"]["market_value"] is None
    assert positions["ETH"]["price"] is None
    assert positions["ETH"]["cost_basis"] == "21"
    assert positions["BTC"]["allocation_pct"] == "100"
    assert positions["BTC"]["unrealized_pnl"] == "9"  # 2 * 15 - (2 * 10 + 1)
    pnl = alice_client.get(f"{url}pnl/").json()
    assert (pnl["unrealized"], pnl["unpriced"], pnl["fees"]) == ("9", ["ETH"], "2")


def test_a_closed_position_leaves_positions_but_keeps_its_realized_pnl(
    alice_client, btc
):
    url = f"/api/v1/portfolios/{alice_client.post('/api/v1/portfolios/', {'name': 'p'}).json()['id']}/"
    for side, price, fee in (("buy", "100", "1"), ("sell", "130", "2")):
        alice_client.post(
            f"{url}trades/",
            {
                "symbol": "BTC",
                "side": side,
                "quantity": "3",
                "price": price,
                "fee": fee,
                "executed_at": "2024-01-01T00:00:00Z",
            },
        )
    assert alice_client.get(f"{url}positions/").json() == []
    pnl = alice_client.get(f"{url}pnl/").json()
    assert (pnl["realized"], pnl["unrealized"], pnl["fees"], pnl["total"]) == (
        "87",  # 3 * 130 - 2 - (3 * 100 + 1)
        "0",
        "3",
        "87",
    )
