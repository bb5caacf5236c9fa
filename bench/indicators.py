"""`make bench` indicators section: RSI+MACD+BBANDS+ATR+OBV over 5,000 daily candles.

- Data: a database of its own (`marketpulse_bench_indicators` on the server of
  DATABASE_URL, or BENCH_INDICATORS_DATABASE_URL) and Redis db 14 (BENCH_INDICATORS_REDIS_URL),
  so neither the service's data nor the api section's is touched. One asset, BTC, with
  the real Coinbase daily demo candles (1,770, with their 12-day hole) tiled over 7,000
  days, each tile scaled to open at the previous tile's last close; loaded once.
- Requests: a random 5,000-day window per request, starting at least 1,000 days after
  the first candle, so each request reads its full warm-up (MACD's is the longest:
  33 + 30 x 26 = 813 earlier candles) plus the 5,000 candles of the range. The plain
  history request of the same windows (`/prices/BTC/candles/?interval=1d&limit=5000`)
  runs in the same rounds. API_CACHE_TTL=0 on the server: every request of both is a
  miss (computed from PostgreSQL), which is the figure that matters.
- Load: as the api section (bench.api.measure): wrk at 1 and 64 connections, median of
  BENCH_ROUNDS rounds; `p50_ms_c1` is the one-connection p50.
"""

import csv
import gzip
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from bench import api
from bench.api import (
    BASE_DIR,
    LUA,
    ensure_database,
    ensure_wrk,
    iso,
    manage,
    measure,
)
from tests.servers import asgi_server

DATABASE = "marketpulse_bench_indicators"
T0 = datetime(2000, 1, 1, tzinfo=UTC)
DAYS = 7000
WINDOW = 5000
EARLIEST_START = 1000  # days after T0: more than any warm-up asked for here
INDICATORS = "rsi,macd,bbands,atr,obv"


def bench_env() -> dict[str, str]:
    env = api.bench_env(database=DATABASE, redis_db=14, variable="BENCH_INDICATORS")
    env["API_CACHE_TTL"] = "0"  # every request computed, none served from Redis
    return env


def tiled_rows() -> list[tuple[datetime, float, float, float, float, float]]:
    path = BASE_DIR / "data" / "demo" / "coinbase_BTC-USD_1d.csv.gz"
    with gzip.open(path, "rt") as handle:
        reader = csv.reader(handle)
        next(reader)
        real: list[tuple[datetime, float, float, float, float, float]] = sorted(
            (datetime.fromisoformat(r[0]), *map(float, r[1:6]))  # type: ignore[misc]
            for r in reader
        )
    first_day = real[0][0]
    span = (real[-1][0] - first_day).days + 1
    rows: list[tuple[datetime, float, float, float, float, float]] = []
    scale = 1.0
    tile = 0
    while True:
        for day, o, h, low, c, v in real:
            offset = tile * span + (day - first_day).days
            if offset >= DAYS:
                return rows
            rows.append(
                (
                    T0 + timedelta(days=offset),
                    o * scale,
                    h * scale,
                    low * scale,
                    c * scale,
                    v,
                )
            )
        scale = rows[-1][4] / real[0][1]
        tile += 1


def load(env: dict[str, str]) -> int:
    """The tiled daily candles of BTC, once; returns how many are stored."""
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        found = conn.execute(
            "SELECT id FROM assets_asset WHERE symbol = 'BTC'"
        ).fetchone()
        if found is None:
            found = conn.execute(
                "INSERT INTO assets_asset (symbol, name, asset_class, is_tracked,"
                " binance_symbol, price_source, created_at, updated_at) VALUES"
                " ('BTC', 'Bitcoin', 'crypto', true, '', '', now(), now()) RETURNING id"
            ).fetchone()
        assert found is not None
        asset_id = found[0]
        counted = conn.execute(
            "SELECT count(*) FROM prices_candle WHERE asset_id = %s AND interval = '1d'",
            [asset_id],
        ).fetchone()
        assert counted is not None
        count = counted[0]
        rows = tiled_rows()
        if count == len(rows):
            return count
        with conn.transaction():
            conn.execute("DELETE FROM prices_candle WHERE asset_id = %s", [asset_id])
            with conn.cursor().copy(
                "COPY prices_candle (asset_id, interval, open_time, open, high, low,"
                " close, volume, source) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row((asset_id, "1d", *row, "bench"))
        conn.execute("ANALYZE prices_candle")
        return len(rows)


def paths(kind: str, count: int = 2000) -> list[str]:
    rng = random.Random(13)
    out = []
    for _ in range(count):
        start = T0 + timedelta(days=rng.randrange(EARLIEST_START, DAYS - WINDOW))
        end = start + timedelta(days=WINDOW)
        bounds = f"interval=1d&start={iso(start)}&end={iso(end)}"
        if kind == "indicators":
            out.append(
                f"/api/v1/analytics/indicators/BTC/?{bounds}&indicators={INDICATORS}"
            )
        else:
            out.append(f"/api/v1/prices/BTC/candles/?{bounds}&limit={WINDOW}")
    return out


def check(base: str, path: str) -> None:
    """One request of each kind answers 200 with 5,000 rows (minus the real hole)."""
    import httpx

    response = httpx.get(base + path, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert body["count"] > WINDOW - 40, body["count"]
    if "warmup" in body:
        assert body["warmup"]["macd"]["available"] == body["warmup"]["macd"]["warmup"]
        assert all(w["null_rows"] == 0 for w in body["warmup"].values())


def main() -> dict[str, dict]:
    wrk = ensure_wrk()
    env = bench_env()
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    started = time.monotonic()
    stored = load(env)
    print(f"   {stored:,} daily candles ready ({time.monotonic() - started:.0f}s)")
    with tempfile.TemporaryDirectory() as tmp, asgi_server(env, workers=2) as base:
        scripts = {}
        for kind in ("indicators", "history"):
            listed = paths(kind)
            check(base, listed[0])
            script = Path(tmp) / f"{kind}.lua"
            script.write_text(LUA % ",".join(json.dumps(p) for p in listed))
            scripts[kind] = str(script)
        results = measure(
            wrk,
            base,
            [
                ("indicators_5000_1d", "/", scripts["indicators"]),
                ("history_5000_1d", "/", scripts["history"]),
            ],
        )
    ratio = results["indicators_5000_1d"]["p50_ms_c1"] / max(
        results["history_5000_1d"]["p50_ms_c1"], 1e-9
    )
    results["indicators_5000_1d"]["vs_history_p50_c1"] = round(ratio, 2)
    results["history_5000_1d"]["vs_history_p50_c1"] = 1.0
    print(f"   indicators / history p50 at 1 connection: {ratio:.2f}x", flush=True)
    return results
