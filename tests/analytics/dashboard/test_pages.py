"""What every page shares: HTML at `/` (the API's 404s stay JSON), the icon, the theme
toggle, keyboard use, the static files' bytes."""

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_the_root_is_the_overview_page_and_unknown_paths_stay_json_404s(web: str, db):
    home = httpx.get(f"{web}/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "<title>Market overview · MarketPulse</title>" in home.text
    for path in ("/nope/", "/api/v1/nope/", "/assets/"):
        missing = httpx.get(f"{web}{path}")
        assert missing.status_code == 404, path
        assert missing.json()["error"]["code"] == "not_found"
    icon = httpx.get(f"{web}/favicon.ico", follow_redirects=True)
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"


def test_pages_load_their_libraries_from_the_app_not_a_cdn(
    page: Page, web: str, market
):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/assets/ETH/")
    expect(page.locator("#chart")).to_have_attribute("data-state", "drawn")
    assert requested
    assert all(url.startswith(web) for url in requested), requested
    chart_library = [u for u in requested if "/static/vendor/lightweight-charts." in u]
    assert len(chart_library) == 1
    # Hashed names are served for a year: the import map points at them.
    response = httpx.get(chart_library[0])
    assert "max-age=315360000" in response.headers["cache-control"]
    assert "TradingView Lightweight Charts" in response.text[:300]


def test_the_theme_toggle_overrides_the_system_and_is_remembered(page: Page, market):
    page.emulate_media(color_scheme="light")
    page.goto("/")
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    toggle = page.get_by_role("button", name="Switch to dark theme")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) != light
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="Switch to light theme").click()
    assert page.evaluate(background) == light


def test_the_pages_work_from_the_keyboard(page: Page, market):
    page.goto("/assets/ETH/")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-state", "drawn")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    # The interval switcher is one radio group: arrows move the choice.
    page.get_by_role("radio", name="1h").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="4h")).to_be_focused()
    expect(chart).to_have_attribute("data-interval", "4h")
    expect(page.get_by_role("radio", name="4h")).to_have_attribute(
        "aria-checked", "true"
    )
