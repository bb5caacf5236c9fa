"""`/assets/<symbol>/`: the candlestick chart in a real Chromium against the real server."""

import pytest
from playwright.sync_api import Page, expect

from tests.analytics.dashboard.conftest import load_demo, set_price

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# Pixels of the candles' colours (light theme: up #0a7a3e, down #c0262d) on the chart's
# canvases, and a digest of what is drawn: a chart that draws nothing has neither.
CANDLE_PIXELS = """() => {
  let up = 0, down = 0, hash = 0;
  for (const c of document.querySelectorAll('#chart canvas')) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 200) continue;
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.abs(r - 10) + Math.abs(g - 122) + Math.abs(b - 62) < 30) up++;
      if (Math.abs(r - 192) + Math.abs(g - 38) + Math.abs(b - 45) < 30) down++;
      hash = (hash * 31 + r + g * 7 + b * 13 + i) | 0;
    }
  }
  return {up, down, hash};
}"""


def candle_pixels(page: Page) -> dict[str, int]:
    page.wait_for_timeout(300)  # the chart paints on the next animation frames
    return page.evaluate(CANDLE_PIXELS)


def test_the_chart_draws_candles_switches_interval_and_adds_indicators(
    page: Page, market, screenshots
):
    page.goto("/assets/eth/")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-state", "drawn")
    expect(chart).to_have_attribute("data-bars", "1000")
    expect(chart).to_have_attribute("data-series", "2")  # candles and volume
    drawn = candle_pixels(page)
    assert drawn["up"] > 100, drawn
    assert drawn["down"] > 100, drawn
    expect(page.locator("#asset-price")).to_have_text("3,100.00 USD")
    # ETH's real candles hold anomalies: markers on the chart, listed beside it.
    assert int(chart.get_attribute("data-markers") or 0) > 0
    expect(page.locator("#anomalies li[data-anomaly]").first).to_be_visible()
    expect(page.locator("#no-forecast")).to_be_visible()
    # The accuracy table asks once the asset has loaded: ETH has no backtest here.
    expect(page.locator("#accuracy")).to_contain_text("No accuracy figures yet")

    # 1d: 1000 hours from 2018-05-08 06:00 to 2018-06-18 21:00 touch 42 days (aggregated by the history API).
    with page.expect_response(
        lambda r: "/candles/" in r.url and "interval=1d" in r.url
    ):
        page.get_by_role("radio", name="1d").click()
    expect(chart).to_have_attribute("data-interval", "1d")
    expect(chart).to_have_attribute("data-bars", "42")
    assert candle_pixels(page)["hash"] != drawn["hash"]
    assert "interval=1d" in page.url

    # An overlay on the price pane, then an oscillator in a pane of its own.
    canvases = page.locator("#chart canvas").count()
    page.select_option("#indicator-name", "sma")
    page.fill("#indicator-period", "5")
    with page.expect_response(
        lambda r: "/analytics/indicators/ETH/" in r.url and "sma.timeperiod=5" in r.url
    ):
        page.get_by_role("button", name="Add").click()
    expect(chart).to_have_attribute("data-series", "3")
    expect(page.locator('#active-indicators li[data-indicator="sma"]')).to_have_text(
        "SMA 5\N{MULTIPLICATION SIGN}"
    )
    assert page.locator("#chart canvas").count() == canvases
    # A second SMA, another period: a labelled instance beside the first.
    page.fill("#indicator-period", "20")
    with page.expect_response(
        lambda r: (
            "/analytics/indicators/ETH/" in r.url
            and "indicators=sma%2Csma%3Ap20" in r.url
            and "sma%3Ap20.timeperiod=20" in r.url
            and r.status == 200
        )
    ):
        page.get_by_role("button", name="Add").click()
    expect(chart).to_have_attribute("data-series", "4")
    expect(
        page.locator('#active-indicators li[data-indicator="sma:p20"]')
    ).to_have_text("SMA 20\N{MULTIPLICATION SIGN}")
    page.select_option("#indicator-name", "macd")
    page.get_by_role("button", name="Add").click()
    expect(chart).to_have_attribute("data-series", "7")  # macd, signal, histogram
    expect(page.locator("#chart canvas")).not_to_have_count(canvases)
    page.get_by_role("button", name="Remove SMA 5").click()
    expect(chart).to_have_attribute("data-series", "6")
    expect(
        page.locator('#active-indicators li[data-indicator="sma:p20"]')
    ).to_be_visible()
    screenshots(page, "asset")


def test_the_forming_candle_follows_the_kline_stream(page: Page, market):
    page.goto("/assets/ETH/?interval=1h")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-bars", "1000")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    price = set_price("ETH", 3150.0)
    # A price of this hour opens a candle after the stored ones (their last is 2018).
    expect(chart).to_have_attribute("data-bars", "1001")
    expect(chart).to_have_attribute("data-live-at", price["as_of"])
    expect(page.locator("#asset-price")).to_have_text("3,150.00 USD")
    later = set_price("ETH", 3160.0)
    expect(chart).to_have_attribute("data-live-at", later["as_of"])
    expect(chart).to_have_attribute("data-bars", "1001")


def test_scrolling_left_loads_older_candles_by_the_cursor(page: Page, market):
    load_demo("coinbase_BTC-USD_1h.csv.gz")  # 20,111 candles: four pages of 5,000
    page.goto("/assets/BTC/?interval=1h")
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-bars", "5000")
    box = chart.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    with page.expect_response(
        lambda r: "/candles/" in r.url and "end=" in r.url, timeout=20_000
    ):
        for _ in range(40):  # zoom out, then drag the older candles into view
            page.mouse.wheel(0, 600)
        for _ in range(6):
            page.mouse.down()
            page.mouse.move(
                box["x"] + box["width"] - 5, box["y"] + box["height"] / 2, steps=5
            )
            page.mouse.up()
            page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    expect(chart).to_have_attribute("data-bars", "10000")


def test_an_unknown_symbol_says_so(page: Page, market, problems):
    problems.allowed += ["/api/v1/assets/NOPE/", "/api/v1/prices/NOPE/candles/"]
    page.goto("/assets/nope/")
    expect(page.locator("#chart-error")).to_have_text("No asset NOPE.")
    # Every request the page makes has been answered (the accuracy table's, sent regardless,
    # was a 400 that arrived only at times before the page closed).
    page.wait_for_load_state("networkidle")
