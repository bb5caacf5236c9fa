"""The factories' defaults make valid rows, so a test names only what it is about."""

import pytest
from django.contrib.auth import authenticate

from marketpulse.accounts.keys import api_key_for
from marketpulse.accounts.permissions import is_operator
from portfolio.selectors import holdings_for
from prices.intervals import next_open
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_factory_makes_a_row_its_table_accepts():
    rows = [
        factories.AssetFactory(),
        factories.CandleFactory(),
        factories.CandleGapFactory(),
        factories.SyncRunFactory(),
        factories.MarketReportFactory(),
        factories.PortfolioFactory(),
        factories.TradeFactory(),
        factories.ApiKeyFactory(),
        factories.UserFactory(),
        factories.AlertFactory(),
        factories.WebhookEndpointFactory(),
    ]
    assert all(row.pk for row in rows)


def test_unique_fields_come_from_sequences():
    assert factories.AssetFactory().symbol != factories.AssetFactory().symbol
    assert factories.UserFactory().username != factories.UserFactory().username


def test_candles_of_one_factory_follow_each_other():
    first, second = factories.CandleFactory.create_batch(2, interval="1h")
    assert second.open_time == next_open(first.open_time, "1h")


def test_a_users_password_is_the_personas():
    from django.test import RequestFactory

    user = factories.UserFactory()
    # axes (the sign-in lockout) needs the request a sign-in came with.
    request = RequestFactory().post("/admin/login/")
    assert (
        authenticate(request, username=user.username, password=factories.PASSWORD)
        == user
    )


def test_operators_and_superusers_are_operators():
    assert is_operator(factories.OperatorFactory())
    assert is_operator(factories.UserFactory(superuser=True))
    assert not is_operator(factories.UserFactory())


def test_a_factory_key_authenticates_with_its_raw_key():
    raw = "mp_0badc0de_" + "r" * 43
    key = factories.ApiKeyFactory(raw=raw)
    assert key.prefix == "mp_0badc0de"
    assert api_key_for(raw=raw) == key


def test_a_factory_trade_counts_in_the_portfolios_holdings():
    trade = factories.TradeFactory()
    assert holdings_for(portfolio=trade.portfolio)[trade.asset].quantity == 1
