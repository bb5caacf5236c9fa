"""Another user's portfolio or trade is a 404 on every route, and stays unchanged;
anonymous callers get 401 everywhere."""

import pytest

from portfolio.models import Portfolio, Trade
from tests.portfolio.helpers import new_portfolio, post_trade, trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(alice_client, btc):  # type: ignore[no-untyped-def]
    url = new_portfolio(alice_client)
    trade_id = post_trade(alice_client, url, quantity="2").json()["id"]
    return url, f"{url}trades/{trade_id}/"


def routes(portfolio: str, trade_url: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", portfolio, None),
        ("put", portfolio, {"name": "mine now", "cost_basis_method": "average"}),
        ("patch", portfolio, {"name": "mine now"}),
        ("delete", portfolio, None),
        ("get", f"{portfolio}positions/", None),
        ("get", f"{portfolio}pnl/", None),
        ("get", f"{portfolio}performance/", None),
        ("get", f"{portfolio}trades/", None),
        ("post", f"{portfolio}trades/", trade(side="sell")),
        ("get", trade_url, None),
        ("put", trade_url, trade(quantity="1")),
        ("patch", trade_url, {"quantity": "1"}),
        ("delete", trade_url, None),
    ]


def test_the_routes_listed_here_are_all_portfolio_routes():
    """A new portfolio route must be added to `routes` above."""
    from marketpulse.urls import router

    names = {
        url.name
        for url in router.urls
        if url.name.startswith(("portfolio-", "trade-"))
        and "format" not in str(url.pattern)
    }
    assert names == {
        "portfolio-list",
        "portfolio-detail",
        "portfolio-positions",
        "portfolio-pnl",
        "portfolio-performance",
        "trade-list",
        "trade-detail",
    }


@pytest.mark.parametrize("persona", ["bob", "charlie"])
def test_other_users_get_404_on_every_route_and_change_nothing(
    request, alices, persona
):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(request.getfixturevalue(persona))
    for method, url, body in routes(*alices):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["error"]["code"] == "not_found"
    portfolio = Portfolio.objects.get()
    assert portfolio.name == "Main"
    assert [str(t.quantity.normalize()) for t in Trade.objects.all()] == ["2"]


def test_other_users_lists_do_not_show_it(bob_client, alices):
    assert bob_client.get("/api/v1/portfolios/").json()["count"] == 0


def test_a_404_for_someone_elses_id_looks_like_one_for_a_missing_id(bob_client, alices):
    missing = "/api/v1/portfolios/999999/"
    theirs = bob_client.get(alices[0]).json()["error"]
    absent = bob_client.get(missing).json()["error"]
    assert (theirs["code"], theirs["message"]) == (absent["code"], absent["message"])


def test_a_trade_of_one_portfolio_is_404_under_another_of_the_same_user(
    alice_client, alices
):
    other = new_portfolio(alice_client, name="Other")
    trade_path = alices[1].split("/trades/")[1]
    assert alice_client.get(f"{other}trades/{trade_path}").status_code == 404
    assert alice_client.delete(f"{other}trades/{trade_path}").status_code == 404
    assert Trade.objects.count() == 1


def test_anonymous_callers_get_401_on_every_route(api_client, alices):
    for method, url, body in [
        ("get", "/api/v1/portfolios/", None),
        ("post", "/api/v1/portfolios/", {"name": "x"}),
        *routes(*alices),
    ]:
        response = getattr(api_client, method)(url, body, format="json")
        assert response.status_code == 401, (method, url)
    assert Trade.objects.count() == 1


def test_the_owner_can_use_every_route(alice_client, alices):
    """The same list of routes works for the owner, so the 404s above are not broken
    routes."""
    statuses = [
        getattr(alice_client, method)(url, body, format="json").status_code
        for method, url, body in routes(*alices)
        if method != "delete"
    ]
    assert statuses == [200, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200]
