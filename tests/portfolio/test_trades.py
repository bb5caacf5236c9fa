"""Recording, editing and deleting trades: validation, oversells, idempotency."""

from datetime import UTC, datetime, timedelta

import pytest

from portfolio.models import Trade
from tests.portfolio.helpers import new_portfolio, post_trade

pytestmark = pytest.mark.django_db


def error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_a_trade_comes_back_with_exact_decimal_strings(alice_client, btc):
    url = new_portfolio(alice_client)
    response = post_trade(
        alice_client,
        url,
        quantity="0.123456789012345678",
        price="0.000000000000000001",
        fee="0.10",
        symbol="btc",
        note="dust",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["symbol"], body["quantity"], body["price"], body["fee"]) == (
        "BTC",
        "0.123456789012345678",
        "0.000000000000000001",
        "0.1",
    )
    assert body["executed_at"] == "2024-01-01T00:00:00Z"
    stored = Trade.objects.get()
    assert str(stored.quantity) == "0.123456789012345678"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "0"),
        ("quantity", "-1"),
        ("quantity", "abc"),
        ("quantity", "0.0000000000000000001"),  # finer than 18 places
        ("price", "0"),
        ("price", "-5"),
        ("fee", "-0.01"),
        ("side", "hold"),
        ("symbol", "NOPE"),
        ("executed_at", "yesterday"),
        ("executed_at", "2999-01-01T00:00:00Z"),
        ("executed_at", "0239-12-11T14:09:49Z"),
    ],
)
def test_bad_trades_are_400_naming_the_field_and_change_nothing(
    alice_client, btc, field, value
):
    url = new_portfolio(alice_client)
    response = post_trade(
        alice_client, url, **{"at" if field == "executed_at" else field: value}
    )
    assert list(error(response, 400, "validation_error")["details"]) == [field]
    assert Trade.objects.count() == 0


def test_a_trade_just_now_is_accepted_and_one_tomorrow_is_not(alice_client, btc):
    url = new_portfolio(alice_client)
    now = datetime.now(UTC)
    assert post_trade(alice_client, url, at=now.isoformat()).status_code == 201
    tomorrow = (now + timedelta(days=1)).isoformat()
    error(post_trade(alice_client, url, at=tomorrow), 400, "validation_error")


def test_selling_more_than_held_is_409_and_changes_nothing(alice_client, btc):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url, quantity="1.5")
    body = error(
        post_trade(alice_client, url, side="sell", quantity="1.5000001"),
        409,
        "oversell",
    )
    assert body["details"]["held"] == "1.500000000000000000"
    assert body["details"]["symbol"] == "BTC"
    assert Trade.objects.count() == 1
    assert post_trade(alice_client, url, side="sell", quantity="1.5").status_code == 201


def test_selling_before_the_buy_is_an_oversell_at_that_time(alice_client, btc):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url, at="2024-02-01T00:00:00Z")
    body = error(
        post_trade(alice_client, url, side="sell", at="2024-01-15T00:00:00Z"),
        409,
        "oversell",
    )
    assert body["details"]["executed_at"] == "2024-01-15T00:00:00Z"


def test_a_back_dated_sell_cannot_make_a_later_sell_an_oversell(alice_client, btc):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url, quantity="2", at="2024-01-01T00:00:00Z")
    post_trade(
        alice_client, url, side="sell", quantity="1.5", at="2024-03-01T00:00:00Z"
    )
    response = post_trade(
        alice_client, url, side="sell", quantity="1", at="2024-02-01T00:00:00Z"
    )
    body = error(response, 409, "oversell")
    assert body["details"]["executed_at"] == "2024-03-01T00:00:00Z"
    assert Trade.objects.count() == 2


def test_holdings_are_per_asset(alice_client, btc, eth):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url, symbol="BTC")
    error(post_trade(alice_client, url, side="sell", symbol="ETH"), 409, "oversell")


def test_editing_a_past_buy_recomputes_the_figures_after_it(alice_client, btc):
    url = new_portfolio(alice_client)
    buy = post_trade(alice_client, url, quantity="2", price="100", fee="2").json()
    post_trade(
        alice_client,
        url,
        side="sell",
        quantity="1",
        price="150",
        at="2024-02-01T00:00:00Z",
    )
    assert alice_client.get(f"{url}pnl/").json()["realized"] == "49"  # 150 - 101
    response = alice_client.patch(
        f"{url}trades/{buy['id']}/", {"price": "120"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["price"] == "120"
    assert alice_client.get(f"{url}pnl/").json()["realized"] == "29"  # 150 - 121


def test_an_edit_that_makes_a_later_sell_an_oversell_is_409_and_changes_nothing(
    alice_client, btc
):
    url = new_portfolio(alice_client)
    buy = post_trade(alice_client, url, quantity="2").json()
    post_trade(
        alice_client, url, side="sell", quantity="1.5", at="2024-02-01T00:00:00Z"
    )
    for change in (
        {"quantity": "1"},
        {"executed_at": "2024-03-01T00:00:00Z"},
        {"side": "sell"},
    ):
        response = alice_client.patch(
            f"{url}trades/{buy['id']}/", change, format="json"
        )
        error(response, 409, "oversell")
    stored = Trade.objects.get(pk=buy["id"])
    assert (str(stored.quantity.normalize()), stored.side) == ("2", "buy")
    assert stored.executed_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_moving_a_trade_to_another_asset_rechecks_both(alice_client, btc, eth):
    url = new_portfolio(alice_client)
    buy = post_trade(alice_client, url, symbol="BTC").json()
    post_trade(alice_client, url, side="sell", at="2024-02-01T00:00:00Z")
    response = alice_client.patch(
        f"{url}trades/{buy['id']}/", {"symbol": "eth"}, format="json"
    )
    error(response, 409, "oversell")
    assert Trade.objects.get(pk=buy["id"]).asset == btc


def test_deleting_a_buy_a_later_sell_needs_is_409(alice_client, btc):
    url = new_portfolio(alice_client)
    buy = post_trade(alice_client, url).json()
    sell = post_trade(alice_client, url, side="sell", at="2024-02-01T00:00:00Z").json()
    error(alice_client.delete(f"{url}trades/{buy['id']}/"), 409, "oversell")
    assert Trade.objects.count() == 2
    assert alice_client.delete(f"{url}trades/{sell['id']}/").status_code == 204
    assert alice_client.delete(f"{url}trades/{buy['id']}/").status_code == 204
    assert Trade.objects.count() == 0


def test_trades_list_oldest_first_whatever_the_recording_order(alice_client, btc):
    url = new_portfolio(alice_client)
    for at in ("2024-03-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"):
        post_trade(alice_client, url, at=at)
    listed = alice_client.get(f"{url}trades/").json()
    assert listed["count"] == 3
    assert [t["executed_at"][:7] for t in listed["results"]] == [
        "2024-01",
        "2024-02",
        "2024-03",
    ]


def test_only_the_quote_currency_is_accepted_as_base_currency(alice_client, db):
    assert new_portfolio(alice_client, base_currency="usd")
    response = alice_client.post(
        "/api/v1/portfolios/", {"name": "x", "base_currency": "EUR"}, format="json"
    )
    assert list(error(response, 400, "validation_error")["details"]) == [
        "base_currency"
    ]
    response = alice_client.post(
        "/api/v1/portfolios/", {"name": "x", "cost_basis_method": "lifo"}, format="json"
    )
    assert list(error(response, 400, "validation_error")["details"]) == [
        "cost_basis_method"
    ]


def test_deleting_a_portfolio_deletes_its_trades(alice_client, btc):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url)
    assert alice_client.delete(url).status_code == 204
    assert Trade.objects.count() == 0


# --- Idempotency-Key ----------------------------------------------------------------


def test_a_retried_post_with_the_same_key_returns_the_first_trade(alice_client, btc):
    url = new_portfolio(alice_client)
    first = post_trade(alice_client, url, headers={"Idempotency-Key": "k-1"})
    again = post_trade(alice_client, url, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Trade.objects.count() == 1
    assert (
        post_trade(alice_client, url, headers={"Idempotency-Key": "k-2"}).status_code
        == 201
    )
    assert Trade.objects.count() == 2


def test_the_same_key_for_a_different_request_is_422(alice_client, btc):
    url = new_portfolio(alice_client)
    post_trade(alice_client, url, headers={"Idempotency-Key": "k"})
    response = post_trade(
        alice_client, url, quantity="2", headers={"Idempotency-Key": "k"}
    )
    error(response, 422, "idempotency_key_reused")
    assert Trade.objects.count() == 1


def test_a_failed_request_does_not_use_up_its_key(alice_client, btc):
    url = new_portfolio(alice_client)
    sell = {"side": "sell", "headers": {"Idempotency-Key": "s"}}
    error(post_trade(alice_client, url, **sell), 409, "oversell")
    post_trade(alice_client, url)
    assert post_trade(alice_client, url, **sell).status_code == 201
    assert Trade.objects.count() == 2


def test_keys_belong_to_their_user(alice_client, bob_client, btc):
    alice_url, bob_url = new_portfolio(alice_client), new_portfolio(bob_client)
    headers = {"Idempotency-Key": "same"}
    assert post_trade(alice_client, alice_url, headers=headers).status_code == 201
    response = post_trade(bob_client, bob_url, headers=headers)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Trade.objects.count() == 2


def test_portfolio_creation_honours_the_key_too(alice_client, db):
    headers = {"Idempotency-Key": "p"}
    first = alice_client.post(
        "/api/v1/portfolios/", {"name": "A"}, format="json", headers=headers
    )
    again = alice_client.post(
        "/api/v1/portfolios/", {"name": "A"}, format="json", headers=headers
    )
    assert again.json()["id"] == first.json()["id"]
    assert alice_client.get("/api/v1/portfolios/").json()["count"] == 1


def test_an_overlong_key_is_400(alice_client, btc):
    url = new_portfolio(alice_client)
    response = post_trade(alice_client, url, headers={"Idempotency-Key": "k" * 256})
    error(response, 400, "validation_error")
    assert Trade.objects.count() == 0


@pytest.mark.parametrize("symbol", ["B\x00TC", "X" * 21, 42])
def test_a_symbol_that_cannot_exist_is_a_400_not_a_crash(alice_client, btc, symbol):
    url = new_portfolio(alice_client)
    response = post_trade(alice_client, url, symbol=symbol)
    assert list(error(response, 400, "validation_error")["details"]) == ["symbol"]


def test_editing_a_trade_into_the_distant_past_is_400(alice_client, btc):
    url = new_portfolio(alice_client)
    created = post_trade(alice_client, url).json()
    response = alice_client.patch(
        f"{url}trades/{created['id']}/",
        {"executed_at": "0239-12-11T14:09:49Z"},
        format="json",
    )
    assert list(error(response, 400, "validation_error")["details"]) == ["executed_at"]
    assert Trade.objects.get().executed_at.year == 2024
