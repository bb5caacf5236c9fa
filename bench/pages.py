"""`make bench` pages section: the browser pages in headless Chromium (Playwright).

- Data: a database of its own (`marketpulse_bench_pages` on the server of DATABASE_URL, or
  BENCH_PAGES_DATABASE_URL) and Redis db 13 (BENCH_PAGES_REDIS_URL): the indicators
  section's BTC (7,000 tiled real daily candles), loaded once; a `bench` user for the
  signed-in pages.
- `pages_first_chart_5000`: navigation start to the asset page's first drawn chart (the
  page's `chart-drawn` performance mark: 5,000 daily candles fetched, set and painted),
  over BENCH_PAGE_LOADS (5) loads, each in a fresh browser context (nothing cached);
  `p50_candles_ms`: to the `candles-received` mark (the JSON parsed, nothing drawn).
- `pages_bytes_<page>`: the JavaScript and CSS each page loads, decoded and as sent
  (whitenoise serves gzip), from the browser's resource timings.
"""

import os
import shutil
import statistics

from playwright.sync_api import Browser, sync_playwright

from bench import api, indicators
from bench.api import manage
from tests.servers import asgi_server

DATABASE = "marketpulse_bench_pages"
PAGES = {
    "overview": "/",
    "asset": "/assets/BTC/?interval=1d",
    "replay": "/replay/",
    "portfolio": "/portfolio/",
    "alerts": "/alerts/",
}
PASSWORD = "bench-pages-password-0123456789"
BYTES = """() => {
  const sums = {js: 0, css: 0, js_wire: 0, css_wire: 0};
  for (const r of performance.getEntriesByType('resource')) {
    const kind = /\\.m?js$/.test(new URL(r.name).pathname) ? 'js'
      : /\\.css$/.test(new URL(r.name).pathname) ? 'css' : null;
    if (!kind) continue;
    sums[kind] += r.decodedBodySize;
    sums[kind + '_wire'] += r.encodedBodySize;
  }
  return sums;
}"""


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        raise SystemExit("bench pages: chromium is required (apt-get install chromium)")
    return found


def first_chart_ms(browser: Browser, base: str) -> tuple[float, float]:
    """(navigation to candles received, navigation to chart drawn), in ms."""
    context = browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(PAGES["asset"])
    page.wait_for_selector('#chart[data-state="drawn"]', timeout=60_000)
    bars = page.get_attribute("#chart", "data-bars")
    assert bars == "5000", f"the asset page drew {bars} candles, not 5000"
    marks = page.evaluate(
        "['candles-received', 'chart-drawn']"
        ".map(name => performance.getEntriesByName(name)[0].startTime)"
    )
    context.close()
    return float(marks[0]), float(marks[1])


def page_bytes(browser: Browser, base: str) -> dict[str, dict[str, float]]:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/signin/")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portfolio/")
    results = {}
    for name, path in PAGES.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        sums = page.evaluate(BYTES)
        results[f"pages_bytes_{name}"] = {
            "js_kb": sums["js"] / 1024,
            "js_kb_gzip": sums["js_wire"] / 1024,
            "css_kb": sums["css"] / 1024,
            "css_kb_gzip": sums["css_wire"] / 1024,
        }
    context.close()
    return results


def main() -> dict[str, dict]:
    env = api.bench_env(database=DATABASE, redis_db=13, variable="BENCH_PAGES")
    api.ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    indicators.load(env)
    manage(
        env, "shell", "-c",
        "from django.contrib.auth.models import User; "
        "u = User.objects.filter(username='bench').first() or User(username='bench'); "
        f"u.set_password({PASSWORD!r}); u.save()",
    )  # fmt: skip
    loads = int(os.environ.get("BENCH_PAGE_LOADS", "5"))
    with (
        asgi_server(env, workers=2) as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=chromium())
        first_chart_ms(browser, base)  # warm: the server's first requests, the cache
        marks = [first_chart_ms(browser, base) for _ in range(loads)]
        times = [drawn for _, drawn in marks]
        results: dict[str, dict] = {
            "pages_first_chart_5000": {
                "p50_ms": statistics.median(times),
                "min_ms": min(times),
                "max_ms": max(times),
                # Of which: until the 5,000 candles had arrived (modules, the request).
                "p50_candles_ms": statistics.median(r for r, _ in marks),
                "loads": float(loads),
            }
        }
        results.update(page_bytes(browser, base))
        browser.close()
    for name, figures in results.items():
        print(f"   {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
    return results
