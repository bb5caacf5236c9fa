"""`/`: the market overview in a real Chromium against the real server."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import caches
from playwright.sync_api import Page, expect

from assets.models import Asset
from prices.latest import record_latest_prices
from tests import servers
from tests.analytics.dashboard.conftest import set_price
from tests.factories import AssetFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_the_overview_lists_tracked_assets_and_a_published_price_flashes_its_cell(
    page: Page, market, screenshots
):
    page.goto("/")
    rows = page.locator("#assets tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-symbol", "BTC")
    btc = page.locator('#assets tr[data-symbol="BTC"] td.price')
    expect(btc).to_have_text("64,000.00 USD")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#total-cap")).not_to_have_text("\N{EN DASH}")
    # ETH's real candles hold anomalies: the latest are listed.
    expect(page.locator("#anomalies li[data-anomaly]").first).to_be_visible()
    # Sparklines: BTC has no candles in its last 7 days, XRP's history is 2018: none.
    expect(page.locator('#assets tr[data-symbol="BTC"] .spark-cell')).to_have_text(
        "no 7-day history"
    )

    set_price("BTC", 64500.0)
    expect(btc).to_have_text("64,500.00 USD")
    expect(btc).to_have_class("num price flash-up")
    set_price("BTC", 63000.0)
    expect(btc).to_have_text("63,000.00 USD")
    expect(btc).to_have_class("num price flash-down")
    # Another symbol's cell is left alone.
    expect(page.locator('#assets tr[data-symbol="ETH"] td.price')).to_have_text(
        "3,100.00 USD"
    )
    expect(page.locator("#source-banner")).to_be_hidden()
    screenshots(page, "overview")


def test_the_overview_says_when_prices_are_replayed_and_when_they_are_stale(
    page: Page, market
):
    set_price("ETH", 3000.0, source="replay")
    page.goto("/")
    banner = page.locator("#source-banner")
    expect(banner).to_contain_text("replayed as if live")
    expect(banner).to_have_attribute("data-stale", "false")

    # Two hours without an update (as a stopped beat would leave them): stale.
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    Asset.objects.update(price_as_of=two_hours_ago, price_source="replay")
    # Redis emptied too (latest prices, the response cache): the REST listing and the
    # stream's snapshot then both read the stale rows from PostgreSQL. Neither write
    # tells the web server (no bump, no publish): its copies (the latest-price mirror,
    # the held responses) learn of it at their next check of Redis, within a second.
    caches["default"].clear()
    caches["responses"].clear()
    stale = "Prices are stale: the last update was 2 h ago."

    def reloaded_stale() -> bool:
        page.reload()
        page.wait_for_load_state("networkidle")
        return stale in (banner.text_content() or "")

    servers.wait_until(reloaded_stale, timeout=5, what="the stale banner")
    expect(banner).to_contain_text(stale)
    expect(page.locator("#freshness")).to_contain_text("Prices from replay")


def test_the_overview_keeps_200_assets_live_over_two_connections(
    page: Page, transactional_db
):
    """`/ws/prices/` takes 100 subscriptions per connection: the page opens two."""
    assets = [AssetFactory(rank=n) for n in range(1, 201)]
    now = datetime.now(UTC)
    record_latest_prices([(a, 100.0 + a.rank, now, "test") for a in assets])
    page.goto("/")
    expect(page.locator("#assets tbody tr")).to_have_count(200)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    last = assets[-1]
    cell = page.locator(f'#assets tr[data-symbol="{last.symbol}"] td.price')
    expect(cell).to_have_text("300.00 USD")
    set_price(last.symbol, 999.5)
    expect(cell).to_have_text("999.50 USD")
    set_price(assets[0].symbol, 1.5)
    expect(
        page.locator(f'#assets tr[data-symbol="{assets[0].symbol}"] td.price')
    ).to_have_text("1.50 USD")
