"""A server restart mid-page: the page says it is disconnected, reconnects with backoff and
resubscribes, with no reload."""

import re

import pytest
from playwright.sync_api import expect

from tests import servers
from tests.analytics.dashboard.conftest import set_price

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_the_overview_survives_a_server_restart(
    open_page, server_env, market, problems
):
    port = servers.free_port()
    # While the server is down the browser logs each refused WebSocket: expected here.
    problems.allowed.append("WebSocket connection to 'ws://127.0.0.1:")
    with servers.asgi_server_process(server_env, port=port) as (base, process):
        page = open_page(base)
        page.goto("/")
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "live")
        set_price("BTC", 64100.0)
        cell = page.locator('#assets tr[data-symbol="BTC"] td.price')
        expect(cell).to_have_text("64,100.00 USD")
        page.evaluate("window.sameDocument = true")
        process.terminate()
        process.wait(timeout=15)
        expect(conn).to_have_attribute("data-state", re.compile("down|reconnecting"))
        expect(conn).to_contain_text("Disconnected")
        page.wait_for_timeout(2500)  # a few failed attempts, backing off

    with servers.asgi_server_process(server_env, port=port):
        expect(conn).to_have_attribute("data-state", "live", timeout=30_000)
        # Resubscribed: updates flow again, into the same page.
        set_price("BTC", 64200.0)
        expect(cell).to_have_text("64,200.00 USD")
        assert page.evaluate("window.sameDocument") is True  # no reload
    assert any("WebSocket connection to" in line for line in problems.console)


def test_the_asset_page_resubscribes_its_kline_stream_after_a_restart(
    open_page, server_env, market, problems
):
    port = servers.free_port()
    problems.allowed.append("WebSocket connection to 'ws://127.0.0.1:")
    with servers.asgi_server_process(server_env, port=port) as (base, process):
        page = open_page(base)
        page.goto("/assets/ETH/?interval=1h")
        chart = page.locator("#chart")
        expect(chart).to_have_attribute("data-bars", "1000")
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "live")
        # The page's last start-up read (the accuracy table, asked once the asset is
        # known) answered before the restart: else the browser rightly reports it refused.
        expect(page.locator("#accuracy")).to_contain_text("No accuracy figures yet")
        process.terminate()
        process.wait(timeout=15)
        expect(conn).to_have_attribute("data-state", re.compile("down|reconnecting"))

    with servers.asgi_server_process(server_env, port=port):
        expect(conn).to_have_attribute("data-state", "live", timeout=30_000)
        price = set_price("ETH", 3150.0)
        expect(chart).to_have_attribute("data-live-at", price["as_of"])
        expect(chart).to_have_attribute("data-bars", "1001")
        expect(page.locator("#asset-price")).to_have_text("3,150.00 USD")
