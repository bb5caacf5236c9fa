"""Sign in, the portfolio page and its trade form, in a real Chromium."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, PortfolioFactory, TradeFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_shows_the_portfolio_and_a_recorded_trade_appears_in_positions(
    page: Page, market, alice, screenshots
):
    page.goto("/portfolio/")
    expect(page).to_have_url("/signin/?next=/portfolio/")
    screenshots(page, "signin")
    sign_in(page, "alice")
    expect(page).to_have_url("/portfolio/")
    expect(page.locator(".who")).to_have_text("alice")

    # No portfolio yet: create one, then record a buy.
    page.get_by_role("button", name="Create a portfolio").click()
    expect(page.locator("#portfolio-select")).to_contain_text("Main")
    page.fill("input[name=symbol]", "btc")
    page.fill("input[name=quantity]", "0.5")
    page.fill("input[name=price]", "60000")
    page.fill("input[name=fee]", "10")
    page.fill("input[name=executed_at]", "2019-10-01T00:00:00")
    page.get_by_role("button", name="Record trade").click()

    row = page.locator('#positions tr[data-symbol="BTC"]')
    expect(row.locator("td.quantity")).to_have_text("0.5")
    # 0.5 BTC at the latest 64,000: 32,000 against a cost of 30,010.
    expect(row).to_contain_text("32,000.00 USD")
    expect(row).to_contain_text("1,990.00 USD")
    expect(page.locator("#pnl-fees")).to_have_text("10.00 USD")
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    expect(page.locator("#twr")).not_to_have_text("\N{EN DASH}")
    expect(page.locator("#value-chart")).to_have_attribute("data-state", "drawn")
    screenshots(page, "portfolio")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_the_trade_form_shows_the_apis_errors_next_to_the_field_and_explains_an_oversell(
    page: Page, market, alice, problems
):
    portfolio = PortfolioFactory(owner=alice, name="Long term")
    TradeFactory(
        portfolio=portfolio, asset=market["ETH"], side="buy", quantity="2", price="500"
    )
    # The two refusals below are the API's answers, logged by the browser as failed loads.
    problems.allowed.append(f"/api/v1/portfolios/{portfolio.pk}/trades/")
    page.goto("/signin/")
    sign_in(page, "alice")
    expect(page.locator('#positions tr[data-symbol="ETH"] td.quantity')).to_have_text(
        "2"
    )

    page.fill("input[name=symbol]", "ETH")
    page.select_option("select[name=side]", "sell")
    page.fill("input[name=quantity]", "5")
    page.fill("input[name=price]", "not a number")
    page.get_by_role("button", name="Record trade").click()
    price_error = page.locator('[data-error-for="price"]')
    expect(price_error).to_contain_text("A plain decimal string is required")
    expect(page.locator("input[name=price]")).to_have_attribute("aria-invalid", "true")

    page.fill("input[name=price]", "600")
    page.get_by_role("button", name="Record trade").click()
    explained = page.locator("#trade-error")
    expect(explained).to_contain_text("Not recorded: Selling 5")
    expect(explained).to_contain_text("exceeds the 2")
    expect(explained).to_contain_text(
        "A sell can only sell what the portfolio held at its time"
    )
    expect(price_error).to_have_text("")
    expect(page.locator('#positions tr[data-symbol="ETH"] td.quantity')).to_have_text(
        "2"
    )
    assert problems.failed == [
        f"400 {page.url.split('/portfolio')[0]}/api/v1/portfolios/{portfolio.pk}/trades/",
        f"409 {page.url.split('/portfolio')[0]}/api/v1/portfolios/{portfolio.pk}/trades/",
    ]


def test_a_wrong_password_is_refused_on_the_page(page: Page, alice, problems):
    page.goto("/signin/")
    sign_in(page, "alice", "wrong password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url("/signin/")
