"""`/replay/`: `/ws/replay/` driven from the page in a real Chromium."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def received(page: Page) -> int:
    return int(page.locator("#replay-count").text_content() or 0)


def test_the_replay_plays_pauses_resumes_seeks_and_completes(
    page: Page, market, screenshots
):
    page.goto("/replay/?symbol=ETH")
    expect(page.locator("#replay-symbol")).to_have_value("ETH")
    # The latest 200 ETH hours are suggested.
    expect(page.locator("#replay-start")).to_have_value("2018-06-10T14:00")
    expect(page.locator("#replay-end")).to_have_value("2018-06-18T22:00")
    page.fill("#replay-speed", "10")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#replay-status")).to_have_text("Playing")
    expect(page.locator("#chart")).to_have_attribute("data-state", "drawn")
    page.wait_for_function(
        "Number(document.querySelector('#replay-count').textContent) >= 5"
    )

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#replay-status")).to_have_text("Paused")
    paused_at = received(page)
    page.wait_for_timeout(1500)  # at 10 candles/s, 15 more would have come
    assert received(page) == paused_at

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#replay-status")).to_have_text("Playing")
    page.wait_for_function(
        f"Number(document.querySelector('#replay-count').textContent) > {paused_at}"
    )

    # Back to the start: the chart is cut there and fills again.
    page.fill("#replay-seek", "2018-06-10T14:00")
    page.get_by_role("button", name="Seek").click()
    expect(page.locator("#replay-status")).to_have_text(
        "Seeked to 2018-06-10 14:00 UTC"
    )
    assert received(page) < paused_at + 15
    page.wait_for_function(
        "Number(document.querySelector('#replay-count').textContent) >= 1"
    )

    page.select_option("#replay-speed-live", "1000")
    expect(page.locator("#replay-status")).to_have_text("Complete", timeout=20_000)
    assert received(page) == 200
    progress = page.locator("#replay-progress")
    assert progress.get_attribute("max") == "200"
    assert page.evaluate("document.querySelector('#replay-progress').value") == 200
    screenshots(page, "replay")
