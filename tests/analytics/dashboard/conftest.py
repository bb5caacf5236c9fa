"""Browser tests: the real ASGI server on the test database, driven by headless Chromium
(Debian's, through Playwright), with the real demo candles.

Every page fixture records console errors, uncaught exceptions and failed requests, and
fails the test on any it did not expect; `axe` injects axe-core from node_modules/ and
`shoot` saves the page in light and dark, at desktop and phone width, under
var/screenshots/.
"""

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from analytics.anomalies import detect_anomalies
from assets.models import Asset
from assets.services import ensure_asset
from prices.importing import import_candle_file
from prices.latest import LatestPrice, iso_z, record_latest_prices
from prices.realtime.broadcast import publish_price
from tests import servers

BASE_DIR = Path(__file__).resolve().parents[3]
DEMO_DIR = BASE_DIR / "data" / "demo"
SCREENSHOTS = BASE_DIR / "var" / "screenshots"
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"chromium not found ({path}): apt-get install chromium (.ci/run does)"
        )
    return path


@pytest.fixture(scope="module")
def browser(django_db_setup) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    """Playwright's sync API keeps an event loop running in this thread, which Django
    reads as "called from async code": allowed here, for this module's tests only (the
    server is another process and keeps the check)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=chromium_path())
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def server_env(django_db_setup, django_db_blocker) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        env = servers.child_env(connection.settings_dict)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


@pytest.fixture
def web(server_env: dict[str, str]) -> Iterator[str]:
    """The real uvicorn, serving the test database; its base URL. One per test: each test
    flushes the database, which renumbers content types a longer-lived server has cached
    (the audit log's writes then fail)."""
    with servers.asgi_server(server_env) as base_url:
        yield base_url


class Problems:
    """What went wrong in the browser: console errors, page exceptions, failed requests."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.exceptions: list[str] = []
        self.failed: list[str] = []
        self.allowed: list[str] = []  # substrings of console errors a test expects

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.console.append(f"{message.text} ({where})")

    def unexpected(self) -> list[str]:
        def expected(line: str) -> bool:
            return any(fragment in line for fragment in self.allowed)

        return [
            line for line in [*self.console, *self.failed] if not expected(line)
        ] + self.exceptions


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def open_page(
    browser: Browser, problems: Problems, transactional_db: None
) -> Iterator[Callable[[str], Page]]:
    """Opens a page on a server (its base URL) that reports its problems; at the end, any
    the test did not expect fail it. After the database (so closed before its flush: a
    page still open would hit the server mid-flush)."""
    contexts = []

    def open_(base_url: str) -> Page:
        context = browser.new_context(base_url=base_url, viewport=VIEWPORTS["desktop"])
        contexts.append(context)
        page = context.new_page()
        page.on("console", problems.on_console)
        page.on("pageerror", lambda error: problems.exceptions.append(str(error)))
        page.on(
            "response",
            lambda r: r.status >= 400 and problems.failed.append(f"{r.status} {r.url}"),
        )
        page.set_default_timeout(15_000)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems.unexpected() == [], "the browser reported problems"


@pytest.fixture
def page(open_page: Callable[[str], Page], web: str) -> Iterator[Page]:
    page = open_page(web)
    yield page
    page.context.close()  # before its server stops: nothing left in flight


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture
def axe() -> Callable[[Page], list[dict[str, Any]]]:
    return run_axe


def shoot(page: Page, name: str, ready: Callable[[Page], None] | None = None) -> None:
    """Screenshots of the page in light and dark, desktop and phone width; axe checks
    each (dark has its own contrast)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        for size, viewport in VIEWPORTS.items():
            page.emulate_media(color_scheme=theme)
            page.set_viewport_size(viewport)
            page.wait_for_timeout(300)  # charts resize on the next frames
            if ready:
                ready(page)
            page.screenshot(
                path=str(SCREENSHOTS / f"{name}-{theme}-{size}.png"), full_page=True
            )
            violations = run_axe(page)
            assert violations == [], f"{name} ({theme}, {size}): {violations}"
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(VIEWPORTS["desktop"])


@pytest.fixture
def screenshots() -> Callable[..., None]:
    return shoot


# --- data: the real demo candles, and latest prices as a sync records and publishes them


def load_demo(*files: str) -> None:
    for name in files:
        symbol = name.split("_")[-2].split("-")[0]
        names = {"BTC": "Bitcoin", "ETH": "Ethereum", "XRP": "XRP", "LTC": "Litecoin"}
        asset = ensure_asset(symbol=symbol, name=names[symbol])
        interval = name.rsplit("_", 1)[1].split(".")[0]
        import_candle_file(
            path=DEMO_DIR / name, asset=asset, interval=interval, source="demo"
        )


def set_price(
    symbol: str, price: float, *, as_of: datetime | None = None, source: str = "test"
) -> LatestPrice:
    """What the sync pipeline does with a new price: record it, then publish it."""
    as_of = as_of or datetime.now(UTC)
    asset = Asset.objects.get(symbol=symbol)
    record_latest_prices([(asset, price, as_of, source)])
    message = LatestPrice(
        symbol=symbol, price=price, quote="USD", as_of=iso_z(as_of), source=source
    )
    publish_price(message)
    return message


@pytest.fixture
def market(transactional_db) -> dict[str, Asset]:  # type: ignore[no-untyped-def]
    """BTC, ETH and XRP with real candles (ETH: 1000 1h candles and their anomalies),
    ranks and fresh latest prices."""
    load_demo(
        "binance_2018-06_ETH-USDT_1h.csv.gz",
        "binance_2018-06_XRP-USDT_1h.csv.gz",
        "coinbase_BTC-USD_1d.csv.gz",
    )
    assets = {a.symbol: a for a in Asset.objects.all()}
    for rank, symbol in enumerate(["BTC", "ETH", "XRP"], start=1):
        Asset.objects.filter(symbol=symbol).update(
            rank=rank,
            market_cap=10**12 / rank,
            volume_24h=10**9 / rank,
            change_24h=2.5 - rank,
        )
    now = datetime.now(UTC) - timedelta(seconds=5)
    record_latest_prices(
        [(assets["BTC"], 64000.0, now, "test"), (assets["ETH"], 3100.0, now, "test"),
         (assets["XRP"], 0.52, now, "test")]
    )  # fmt: skip
    detect_anomalies(
        asset_id=assets["ETH"].pk,
        interval="1h",
        start=datetime(2018, 5, 8, tzinfo=UTC),
        end=datetime(2018, 6, 19, tzinfo=UTC),
    )
    return assets


@contextlib.contextmanager
def expecting_console_errors(problems: Problems, *fragments: str) -> Iterator[None]:
    """Console errors a test causes on purpose (an API refusal the page shows)."""
    problems.allowed.extend(fragments)
    yield
