"""`make bench` api section: the REST API as served, against >= 5M 1-minute candles.

- Data: a database of its own (`marketpulse_bench` on the server of DATABASE_URL, or
  BENCH_DATABASE_URL), so dev and test data stay untouched; loaded once and reused. The
  real demo 1m candles of five assets are tiled in time over two years (5 x 1,051,200 =
  5.26M candles); their rollups are built by the same code `upsert_candles` uses.
- Serving: uvicorn with 2 workers on marketpulse.asgi, as `make run` (Procfile `web`),
  with a Redis database of its own (BENCH_REDIS_URL, default db 15 of REDIS_URL's server)
  and the rate limits raised for the load generator (THROTTLE_RATE_ANON, README).
- Load: wrk on loopback at 1 and at 64 connections, BENCH_SECONDS (default 3) per run,
  BENCH_ROUNDS (default 3) interleaved rounds, medians reported: about 90 s in all.
  History requests pick a random window per request from thousands, so
  most are cache misses: the figures are the database path, not a cached copy.
- Metrics overhead: a second server with METRICS_ENABLED=false runs beside the first (which
  serves metrics in multiprocess mode, as `make run` does); `latest` and
  `latest_metrics_off` are measured in the same interleaved rounds, and
  `metrics_overhead` reports both and how far apart they are.
- Logging overhead: a third server logs at INFO (the default: one JSON access line per
  request, into a file); `latest_log_info` against `latest` (WARNING) is
  `logging_overhead`. Also the latest list, the asset list and one asset (issue 17).
- Overheads are small next to this machine's drift between runs seconds apart, so
  `metrics_overhead` and `logging_overhead` come from PAIRS (default 7) back-to-back
  pairs of c64 runs (on, off, alternating which goes first, each run's backlog drained
  before the next), as the median of the per-pair differences; the rounds' medians are
  kept beside them. The pairs' metrics-on WARNING server is a fifth one that serves
  nothing else (the first has served every target by then, large pages included), so
  each pair's servers differ in the one setting only. Each pair also reads the CPU time
  (user + system) the two servers' processes spent per request served: wrk, Redis and
  the neighbours' load stay out of it. And `bench/metrics_cost.py` times, in one
  process, the metrics middleware's work per request against a whole latest-price
  request (`middleware_us`, `middleware_share_pct`): what the pairs cannot resolve.
- Response cache: a fourth server runs with API_CACHE_TTL=0 (cache off): every
  `page_1000_cache_off` / `year_1d_cache_off` request is built from PostgreSQL.
  `page_1000` and `year_1d` run on the shipped server (cache on, random windows: mostly
  misses, each one stored), `page_1000_cached` asks one page again and again (hits).
"""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg

from tests.servers import asgi_server, asgi_server_process

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE = "marketpulse_bench"
SYMBOLS = ["BTC", "ETH", "NEO", "XRP", "ADA"]
T0 = datetime(2022, 1, 1, tzinfo=UTC)
MINUTES = 2 * 525_600  # two years of minutes per asset
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "7"))


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def bench_env(
    *, database: str = DATABASE, redis_db: int = 15, variable: str = "BENCH"
) -> dict[str, str]:
    """The environment of a bench section's servers: its own database and Redis db
    (`<variable>_DATABASE_URL` / `<variable>_REDIS_URL` override), limits raised."""
    env = dict(os.environ)
    env["DATABASE_URL"] = os.environ.get(f"{variable}_DATABASE_URL") or with_path(
        os.environ["DATABASE_URL"], f"/{database}"
    )
    env["REDIS_URL"] = os.environ.get(f"{variable}_REDIS_URL") or with_path(
        os.environ["REDIS_URL"], f"/{redis_db}"
    )
    env["THROTTLE_RATE_ANON"] = env["THROTTLE_RATE_USER"] = "100000000/min"
    env["LOG_LEVEL"] = "WARNING"  # one JSON access line per request would cost more
    return env


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq wrk",
            shell=True,
            check=False,
            capture_output=True,
        )
        found = shutil.which("wrk")
    if not found:
        raise SystemExit(
            "bench api: wrk is required (Debian: apt-get install wrk) and could not be "
            "installed automatically."
        )
    return found


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def ensure_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = with_path(url, "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def demo_rows(symbol: str) -> list[tuple]:
    import csv
    import gzip

    manifest = BASE_DIR / "data" / "demo" / "manifest.csv"
    with open(manifest, newline="") as handle:
        entry = next(
            e
            for e in csv.DictReader(handle)
            if e["symbol"] == symbol and e["interval"] == "1m"
        )
    with gzip.open(BASE_DIR / "data" / "demo" / entry["file"], "rt") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [
            (n, *map(float, row[1:]))
            for n, row in enumerate(sorted(reader, key=lambda r: r[0]))
        ]


def load(env: dict[str, str]) -> None:
    """Tiles each asset's real 1m demo candles over two years, once."""
    url = env["DATABASE_URL"]
    loaded = False
    with psycopg.connect(url, autocommit=True) as conn:
        for symbol in SYMBOLS:
            asset_id = conn.execute(
                "SELECT id FROM assets_asset WHERE symbol = %s", [symbol]
            ).fetchone()
            if asset_id is None:
                asset_id = conn.execute(
                    "INSERT INTO assets_asset (symbol, name, asset_class, is_tracked,"
                    " binance_symbol, price_source, created_at, updated_at) VALUES"
                    " (%s, %s, 'crypto', true, '', '', now(), now()) RETURNING id",
                    [symbol, symbol],
                ).fetchone()
            assert asset_id is not None
            asset_id = asset_id[0]
            counted = conn.execute(
                "SELECT count(*) FROM prices_candle WHERE asset_id = %s"
                " AND interval = '1m' AND open_time >= %s AND open_time < %s",
                [asset_id, T0, T0 + timedelta(minutes=MINUTES)],
            ).fetchone()
            assert counted is not None
            have = counted[0]
            if have >= MINUTES:
                continue
            started = time.monotonic()
            rows = demo_rows(symbol)
            with conn.transaction():
                conn.execute(
                    "CREATE TEMP TABLE tile (n int, open float8, high float8,"
                    " low float8, close float8, volume float8) ON COMMIT DROP"
                )
                with conn.cursor().copy("COPY tile FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.execute(
                    """
                    INSERT INTO prices_candle
                        (asset_id, interval, open_time, open, high, low, close,
                         volume, source)
                    SELECT %(asset)s, '1m', %(t0)s + g * interval '1 minute',
                           t.open, t.high, t.low, t.close, t.volume, 'bench'
                    FROM generate_series(0, %(n)s - 1) AS g
                    JOIN tile AS t ON t.n = g %% %(len)s
                    ORDER BY g  -- stored in time order, as live data arrives
                    ON CONFLICT DO NOTHING
                    """,
                    {"asset": asset_id, "t0": T0, "n": MINUTES, "len": len(rows)},
                )
            print(
                f"   loaded {MINUTES:,} 1m candles of {symbol} "
                f"in {time.monotonic() - started:.0f}s",
                flush=True,
            )
            loaded = True
        if loaded:
            # Rows in time order on disk, as data arriving minute by minute lies: a
            # 1000-candle page then reads ~30 pages, not ~1000.
            conn.execute("CLUSTER prices_candle USING candle_unique_open_time")
        conn.execute("ANALYZE prices_candle")


SETUP = """
import django; django.setup()
from datetime import UTC, datetime, timedelta
from assets.models import Asset
from prices.latest import record_latest_prices
from prices.models import Candle
from prices.rollups import refresh_rollups
t0, minutes = datetime.fromisoformat({t0!r}), {minutes}
clustered = True
for asset in Asset.objects.filter(symbol__in={symbols!r}):
    first, last = t0, t0 + timedelta(minutes=minutes - 1)
    if asset.rollups.filter(interval="1d").count() < minutes // 1440:
        refresh_rollups(asset_id=asset.pk, start=first, end=last)
        clustered = False
    close = Candle.objects.get(asset=asset, interval="1m", open_time=last).close
    Asset.objects.filter(pk=asset.pk).update(price=None, price_as_of=None)
    record_latest_prices([(asset, close, datetime.now(UTC), "bench")])
if not clustered:
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("CLUSTER prices_candlerollup USING candlerollup_unique_open_time")
        cursor.execute("ANALYZE prices_candlerollup")
"""


def prepare(env: dict[str, str]) -> None:
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    load(env)
    started = time.monotonic()
    code = SETUP.format(t0=T0.isoformat(), minutes=MINUTES, symbols=SYMBOLS)
    subprocess.run(
        [PYTHON, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "marketpulse.settings"},
        check=True,
    )
    print(f"   rollups + latest prices ready ({time.monotonic() - started:.0f}s)")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def paths(kind: str, count: int = 20_000) -> list[str]:
    rng = random.Random(42)
    out = []
    for _ in range(count):
        symbol = rng.choice(SYMBOLS)
        if kind == "page_1000":
            start = T0 + timedelta(minutes=rng.randrange(MINUTES - 1000))
            query = f"interval=1m&limit=1000&start={iso(start)}"
        elif kind == "worst_30m":
            # The most raw rows one request aggregates on this data: 30m buckets have no
            # stored rollup, so 5000 of them read 150,000 1m rows.
            start = T0 + timedelta(
                minutes=30 * rng.randrange((MINUTES - 150_000) // 30)
            )
            query = f"interval=30m&limit=5000&start={iso(start)}"
        else:  # a year of 1m candles as 1d
            start = T0 + timedelta(days=rng.randrange(365))
            end = start + timedelta(days=365)
            query = f"interval=1d&limit=5000&start={iso(start)}&end={iso(end)}"
        out.append(f"/api/v1/prices/{symbol}/candles/?{query}")
    return out


LUA = """
local paths = {%s}
local n = #paths
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 1000)
request = function()
  return wrk.format("GET", paths[math.random(1, n)])
end
"""


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    wrk: str, url: str, connections: int, script: str | None, seconds: int = 0
) -> dict:
    command = [
        wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds or SECONDS}s",
        "--latency", "--timeout", "10s",
    ]  # fmt: skip
    if script:
        command += ["-s", script]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if "50" not in latency or "99" not in latency:
        raise SystemExit(f"bench api: could not read wrk's output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
    }


def drain(many: dict[str, Any]) -> None:
    """Waits out the requests wrk left queued at 64 connections (64 / rps seconds of
    work): otherwise the next one-connection run waits behind them (it showed as a
    one-connection p99 of ~1 s on the 5,000-candle rows)."""
    time.sleep(min(64 / max(many["rps"], 1.0), 10.0) + 0.2)


def measure(
    wrk: str, base: str, targets: list[tuple[str, str, str | None]]
) -> dict[str, dict[str, float]]:
    """ROUNDS rounds; in each, every target at 1 then 64 connections, so all targets
    share the machine's conditions (other load drifts); the median round is reported."""
    runs: dict[str, list[tuple[dict, dict]]] = {name: [] for name, _, _ in targets}

    def url(path: str) -> str:  # a path on `base`, or another server's whole URL
        return path if path.startswith("http") else base + path

    for _name, path, script in targets:
        run_wrk(wrk, url(path), 8, script, seconds=2)  # warm connections and caches
    for _ in range(ROUNDS):
        for name, path, script in targets:
            one = run_wrk(wrk, url(path), 1, script)
            many = run_wrk(wrk, url(path), 64, script)
            drain(many)
            if one["errors"] or many["errors"]:
                raise SystemExit(f"bench api: {path} answered errors: {one} {many}")
            runs[name].append((one, many))
    results: dict[str, dict[str, Any]] = {}
    for name, pairs in runs.items():
        ones = [p[0] for p in pairs]
        manys = [p[1] for p in pairs]
        results[name] = {
            "rps": round(median(r["rps"] for r in manys), 1),
            "p50_ms_c1": median(r["p50_ms"] for r in ones),
            "p99_ms_c1": median(r["p99_ms"] for r in ones),
            "p50_ms": median(r["p50_ms"] for r in manys),
            "p99_ms": median(r["p99_ms"] for r in manys),
        }
        print(f"   {name}: {results[name]}", flush=True)
    return results


def server_cpu(server: psutil.Process) -> float:
    """CPU seconds (user + system) a server and its worker processes have used."""
    total = 0.0
    for process in [server, *server.children(recursive=True)]:
        times = process.cpu_times()
        total += times.user + times.system
    return total


Served = tuple[str, psutil.Process]  # a server's URL to load, and its process


def paired(wrk: str, a: Served, b: Served) -> dict[str, float]:
    """PAIRS back-to-back pairs of c64 runs of two servers (the first of each pair
    alternating): the medians of both servers' req/s and CPU µs per request, and of the
    per-pair cost of b against a, %, in each."""
    rps: dict[str, list[float]] = {"a": [], "b": []}
    cpu: dict[str, list[float]] = {"a": [], "b": []}
    rps_costs, cpu_costs = [], []
    for n in range(PAIRS):
        order = (("a", a), ("b", b)) if n % 2 == 0 else (("b", b), ("a", a))
        for side, (url, server) in order:
            before = server_cpu(server)
            run = run_wrk(wrk, url, 64, None, seconds=2)
            drain(run)  # the next run must not start behind this one's backlog
            rps[side].append(run["rps"])
            # The drained backlog is counted in the CPU, not in wrk's requests: up to
            # 64 of ~1,000+ per run, alike on both sides.
            cpu[side].append(1e6 * (server_cpu(server) - before) / run["requests"])
        rps_costs.append(100 * (rps["a"][-1] - rps["b"][-1]) / rps["a"][-1])
        cpu_costs.append(100 * (cpu["b"][-1] - cpu["a"][-1]) / cpu["a"][-1])
    return {
        "a_rps": round(median(rps["a"]), 1),
        "b_rps": round(median(rps["b"]), 1),
        "cost_pct": round(median(rps_costs), 1),
        "a_cpu_us": round(median(cpu["a"])),
        "b_cpu_us": round(median(cpu["b"])),
        "cpu_cost_pct": round(median(cpu_costs), 1),
        "pairs": PAIRS,
    }


def metrics_cost(env: dict[str, str]) -> dict[str, float]:
    """bench/metrics_cost.py in a process with a metrics-on server's environment."""
    out = subprocess.run(
        [PYTHON, "-m", "bench.metrics_cost"],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "marketpulse.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> dict[str, dict]:
    wrk = ensure_wrk()
    env = bench_env()
    prepare(env)
    with tempfile.TemporaryDirectory() as tmp:
        # As `make run` serves: metrics on, every process writing to one directory.
        metrics_dir = Path(tmp) / "metrics"
        metrics_dir.mkdir()
        on_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        off_env = {**env, "METRICS_ENABLED": "false"}
        off_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        # As shipped: INFO, one JSON access line per request, written to a file.
        log_env = {**on_env, "LOG_LEVEL": "INFO"}
        cold_env = {**on_env, "API_CACHE_TTL": "0"}
        with (
            open(Path(tmp) / "access.log", "w") as log_file,
            asgi_server(on_env, workers=2) as base,
            asgi_server_process(off_env, workers=2) as (off_base, off_server),
            asgi_server_process(log_env, workers=2, output=log_file) as (
                log_base,
                log_server,
            ),
            asgi_server(cold_env, workers=2) as cold_base,
            # Metrics on, serving only what the metrics-off server serves: the pair
            # compares two servers that differ in nothing else (`base` has served
            # every target, large pages included, by then).
            asgi_server_process(on_env, workers=2) as (twin_base, twin_server),
        ):
            results = serve_and_measure(wrk, tmp, base, off_base, log_base, cold_base)
            latest = "/api/v1/prices/latest/BTC/"
            run_wrk(wrk, twin_base + latest, 8, None, seconds=2)  # as the rounds warm
            metrics_off = (off_base + latest, psutil.Process(off_server.pid))
            metrics_on = (twin_base + latest, psutil.Process(twin_server.pid))
            info_logged = (log_base + latest, psutil.Process(log_server.pid))
            metrics = paired(wrk, metrics_off, metrics_on)
            logging = paired(wrk, metrics_on, info_logged)
            in_process = metrics_cost(on_env)
    ceiling = results["ceiling"]["rps"]
    for figures in results.values():
        figures["vs_ceiling"] = round(figures["rps"] / ceiling, 3)
    on, off = results["latest"]["rps"], results["latest_metrics_off"]["rps"]
    results["metrics_overhead"] = {
        "on_rps": metrics["b_rps"],
        "off_rps": metrics["a_rps"],
        "off_minus_on_pct": metrics["cost_pct"],
        "on_cpu_us_per_request": metrics["b_cpu_us"],
        "off_cpu_us_per_request": metrics["a_cpu_us"],
        "cpu_cost_pct": metrics["cpu_cost_pct"],
        "middleware_us": in_process["middleware_us"],
        "in_process_latest_us": in_process["latest_request_us"],
        "middleware_share_pct": in_process["share_pct"],
        "pairs": metrics["pairs"],
        "rounds_on_rps": on,
        "rounds_off_rps": off,
    }
    print(f"   metrics_overhead: {results['metrics_overhead']}", flush=True)
    quiet, logged = results["latest"]["rps"], results["latest_log_info"]["rps"]
    results["logging_overhead"] = {
        "warning_rps": logging["a_rps"],
        "info_rps": logging["b_rps"],
        "cost_pct": logging["cost_pct"],
        "warning_cpu_us_per_request": logging["a_cpu_us"],
        "info_cpu_us_per_request": logging["b_cpu_us"],
        "cpu_cost_pct": logging["cpu_cost_pct"],
        "access_line_us": in_process["access_line_us"],
        "access_share_pct": in_process["access_share_pct"],
        "pairs": logging["pairs"],
        "rounds_warning_rps": quiet,
        "rounds_info_rps": logged,
    }
    print(f"   logging_overhead: {results['logging_overhead']}", flush=True)
    return results


def serve_and_measure(
    wrk: str, tmp: str, base: str, off_base: str, log_base: str, cold_base: str
) -> dict[str, dict[str, Any]]:
    """Every target, the metrics-off server's `latest` among them, in shared rounds."""
    scripts = {}
    for kind in ("page_1000", "year_1d", "worst_30m"):
        script = Path(tmp) / f"{kind}.lua"
        script.write_text(LUA % ",".join(json.dumps(p) for p in paths(kind)))
        scripts[kind] = str(script)
    targets = [
        ("ceiling", "/health/live/", None),
        ("latest", "/api/v1/prices/latest/BTC/", None),
        ("latest_metrics_off", f"{off_base}/api/v1/prices/latest/BTC/", None),
        ("latest_log_info", f"{log_base}/api/v1/prices/latest/BTC/", None),
        ("latest_list", "/api/v1/prices/latest/", None),
        ("assets_list", "/api/v1/assets/?limit=50", None),
        ("asset_detail", "/api/v1/assets/BTC/", None),
        ("page_1000_cached", paths("page_1000", 1)[0], None),
        ("page_1000", "/", scripts["page_1000"]),
        ("page_1000_cache_off", f"{cold_base}/", scripts["page_1000"]),
        ("year_1d", "/", scripts["year_1d"]),
        ("year_1d_cache_off", f"{cold_base}/", scripts["year_1d"]),
        ("worst_30m", "/", scripts["worst_30m"]),
    ]
    return measure(wrk, base, targets)
