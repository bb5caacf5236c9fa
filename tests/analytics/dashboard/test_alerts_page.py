"""`/alerts/` and the alert toasts: an alert made on the page fires as a toast, on any
page, when an operator's manual price crosses its level."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.analytics.dashboard.test_portfolio_page import sign_in
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def manual_price(web: str, symbol: str, price: float) -> None:
    """What an operator does: a token, then POST /api/v1/prices/manual/."""
    token = httpx.post(
        f"{web}/api/v1/auth/token/", json={"username": "operator", "password": PASSWORD}
    ).json()["access"]
    response = httpx.post(
        f"{web}/api/v1/prices/manual/",
        json={"symbol": symbol, "price": price},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


def test_an_alert_created_on_the_page_fires_as_a_toast_when_a_manual_price_crosses_it(
    page: Page, web: str, market, alice, operator, screenshots
):
    page.goto("/alerts/")
    sign_in(page, "alice")
    expect(page).to_have_url("/alerts/")
    form = page.locator("#alert-form")
    form.get_by_label("Symbol").fill("BTC")
    form.get_by_label("Alert kind").select_option("price")
    form.get_by_label("Direction").select_option("above")
    form.get_by_label("Level").fill("65000")
    form.get_by_label("Note").fill("breakout")
    form.get_by_role("button", name="Create alert").click()
    item = page.locator("#alerts li[data-alert]")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("BTC above")
    expect(item).to_contain_text("armed")

    # On another page, still signed in: the toast comes there.
    page.goto("/")
    expect(page.locator("#assets tbody tr")).to_have_count(3)
    page.wait_for_function(
        "[...document.querySelectorAll('#conn')].every(c => c.dataset.state === 'live')"
    )
    manual_price(web, "BTC", 64500.0)  # below the level: nothing
    expect(page.locator('#assets tr[data-symbol="BTC"] td.price')).to_have_text(
        "64,500.00 USD"
    )
    expect(page.locator(".toast")).to_have_count(0)
    manual_price(web, "BTC", 66000.0)
    toast = page.locator(".toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text("BTC")

    page.goto("/alerts/")
    expect(page.locator("#events tbody tr[data-event]")).to_have_count(1)
    expect(page.locator("#events tbody tr")).to_contain_text("66,000.00 USD")
    expect(item).to_contain_text("fired 1")
    screenshots(page, "alerts")


def test_alerts_of_every_kind_are_created_edited_disabled_and_deleted(
    page: Page, market, alice, problems
):
    problems.allowed += ["/api/v1/alerts/"]
    page.goto("/alerts/")
    sign_in(page, "alice")
    form = page.locator("#alert-form")
    expect(form.get_by_label("Alert kind")).to_have_value("price")
    # A price alert without its level: the API's error beside the field.
    form.get_by_label("Symbol").fill("ETH")
    form.get_by_role("button", name="Create alert").click()
    expect(page.locator('[data-error-for="level"]')).not_to_be_empty()
    form.get_by_label("Level").fill("3500")
    form.get_by_role("button", name="Create alert").click()
    expect(page.locator('[data-error-for="level"]')).to_be_empty()
    items = page.locator("#alerts li[data-alert]")
    expect(items).to_have_count(1)

    form.get_by_label("Symbol").fill("ETH")
    form.get_by_label("Alert kind").select_option("move")
    expect(form.get_by_label("Level")).to_be_hidden()
    form.get_by_label("Direction").select_option("down")
    form.get_by_label("Percent").fill("5")
    form.get_by_label("Window").select_option("1h")
    form.get_by_role("button", name="Create alert").click()
    expect(items).to_have_count(2)

    form.get_by_label("Symbol").fill("BTC")
    form.get_by_label("Alert kind").select_option("indicator")
    form.get_by_label("Indicator", exact=True).fill("rsi")
    form.get_by_label("Period").fill("14")
    form.get_by_label("Interval").select_option("1h")
    form.get_by_label("Direction").select_option("below")
    form.get_by_label("Level").fill("30")
    form.get_by_role("button", name="Create alert").click()
    expect(items).to_have_count(3)

    form.get_by_label("Symbol").fill("XRP")
    form.get_by_label("Alert kind").select_option("anomaly")
    form.get_by_label("Anomaly kind").select_option("volume")
    form.get_by_role("button", name="Create alert").click()

    expect(items).to_have_count(4)
    expect(items.filter(has_text="RSI")).to_have_count(1)
    expect(items.filter(has_text="anomal")).to_have_count(1)
    first = items.filter(has_text="ETH above")
    first.get_by_role("button", name="Edit").click()
    expect(form.get_by_label("Level")).to_have_value("3500")
    form.get_by_label("Level").fill("3600")
    form.get_by_role("button", name="Save alert").click()
    expect(items.filter(has_text="3,600")).to_have_count(1)
    edited = items.filter(has_text="3,600")
    edited.get_by_role("button", name="Disable").click()
    expect(edited).to_have_attribute("data-enabled", "false")
    expect(edited).to_contain_text("disabled")
    edited.get_by_role("button", name="Delete").click()
    expect(items).to_have_count(3)
    # The one refusal the test caused, and nothing else.
    assert [line.split()[0] for line in problems.failed] == ["400"]
