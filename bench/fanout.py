"""`make bench` section "fanout": live-price fan-out and candle replay over WebSockets.

- fanout_N: N clients on ONE web process (uvicorn), subscribed to one symbol; updates are
  published at 10/s through `publish_price` (the sync pipeline's path). The clients run in
  a separate process; each update carries its publish time, so delivery latency is
  measured per (update, client). `lost` = updates published but not received.
- fanout_1000_replays_N: fanout_1000 again, on the same server in the same run, while N
  replays of the whole range run at full speed beside it (their clients in a process of
  their own, each replay restarted as it completes); `replay_candles_per_s` is what the
  N replays got meanwhile, together.
- replay: a 100,000-candle replay at the highest speed: the server's peak RSS while it
  runs (`rss_growth_mb`: above the RSS before it started) and the latency of other HTTP
  requests meanwhile against idle; then the time from opening the socket to the first
  candle frame, median of seven fresh replays of the whole range.
- fanout_1000_floor: the same 1000-client load on a bare ASGI fan-out (`bench/floor.py`),
  right after: the machine's and the instrument's share of the latency; fanout_1000 then
  carries `p99_vs_floor`, the ratio of the two in one run.

The server serves a bench database of its own (`<database>_fanout`, created, migrated and
loaded with 100,000 generated 1m candles on first use, reused after).

    python -m bench fanout
"""

import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SYMBOL = "BENCHWS"
REPLAY_CANDLES = 100_000
RATE = 10  # updates per second
SECONDS = 10  # measured updates = RATE * SECONDS
WARMUP = 10  # updates before measuring, ignored
CLIENT_PROCESSES = int(os.environ.get("BENCH_CLIENT_PROCESSES", "2"))
REPLAYS = int(os.environ.get("BENCH_REPLAYS", "4"))  # beside fanout_1000_replays_N


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")
    import django

    django.setup()


def bench_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (
        f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    )
    host = s["HOST"] or ""
    port = f":{s['PORT']}" if s["PORT"] else ""
    url = f"postgresql://{auth}@{host}{port}/{s['NAME']}_fanout"
    socket_dir = s.get("OPTIONS", {}).get("host")
    return f"{url}?host={quote(socket_dir)}" if socket_dir else url


def ensure_bench_database(url: str) -> None:
    from django.db import connection

    name = urlsplit(url).path.lstrip("/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run(
        [*manage, "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True
    )
    subprocess.run(
        [str(BIN / "python"), "-m", "bench.fanout", "load"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )


def load_candles() -> None:
    """Runs in the bench database: 100,000 1m candles of a random walk, once."""
    setup_django()
    from assets.models import Asset
    from prices.models import Candle
    from prices.services import CandleIn, upsert_candles

    asset, _ = Asset.objects.get_or_create(symbol=SYMBOL, defaults={"name": "Bench"})
    if Candle.objects.filter(asset=asset, interval="1m").count() >= REPLAY_CANDLES:
        return
    rng = random.Random(5)
    start, price = datetime(2024, 1, 1, tzinfo=UTC), 100.0
    rows = []
    for n in range(REPLAY_CANDLES):
        close = max(1.0, price * (1 + rng.gauss(0, 0.001)))
        high, low = max(price, close) * 1.0005, min(price, close) * 0.9995
        rows.append(
            CandleIn(
                start + timedelta(minutes=n), price, high, low, close, rng.random()
            )
        )
        price = close
    result = upsert_candles(asset=asset, interval="1m", rows=rows, source="bench")
    print(f"   loaded {result.inserted} bench candles", flush=True)


@contextmanager
def web_server(env: dict[str, str], app: str = "marketpulse.asgi:application"):  # type: ignore[no-untyped-def]
    import httpx

    from marketpulse.embedded import free_port

    port = free_port()
    command = [
        str(BIN / "uvicorn"), app, "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-access-log", "--lifespan", "off",
        "--log-level", "warning", "--ws-max-size", "65536",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(
                    f"http://127.0.0.1:{port}/health/live/", timeout=1
                ).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("bench web server did not start")
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=15)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        if ordered
        else float("nan")
    )


# --- clients (a separate process: `python -m bench.fanout clients URL N UPDATES`) -------


async def run_clients(url: str, count: int, updates: int) -> dict[str, Any]:
    import orjson
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    received = [0] * count
    sockets = []
    for first in range(0, count, 100):  # connect in bursts of 100
        batch = await asyncio.gather(
            *(
                connect(
                    f"{url}/ws/prices/{SYMBOL}/",
                    compression=os.environ.get("BENCH_COMPRESSION") or None,
                    max_queue=None,
                )
                for _ in range(first, min(count, first + 100))
            )
        )
        sockets.extend(batch)
    for ws in sockets:
        greeting = [json.loads(await ws.recv())["type"] for _ in range(2)]
        if greeting != ["hello", "subscribed"]:
            raise RuntimeError(f"unexpected greeting {greeting}")
    # The clients are the measuring instrument: no collector pauses in their timings.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("READY", flush=True)

    async def listen(index: int, ws: Any) -> None:
        seen: set[int] = set()
        while len(seen) < updates:
            message = orjson.loads(await ws.recv())
            now = time.time()
            seq = int(message["source"])
            if seq >= 0 and seq not in seen:
                seen.add(seq)
                latencies.append(now - message["price"])
        received[index] = len(seen)

    tasks = [asyncio.create_task(listen(i, ws)) for i, ws in enumerate(sockets)]
    await asyncio.wait(tasks, timeout=SECONDS + WARMUP / RATE + 10)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    times = os.times()
    cpu = times.user + times.system
    return {"latencies": latencies, "received": sum(received), "cpu_s": cpu}


def clients_main(argv: list[str]) -> None:
    url, count, updates = argv[0], int(argv[1]), int(argv[2])
    print(json.dumps(asyncio.run(run_clients(url, count, updates))), flush=True)


async def run_replays(url: str, count: int) -> dict[str, float]:
    """`count` full-speed replays of the whole range, each restarted when it completes,
    until a line arrives on stdin; returns the candles they got and over how long."""
    from websockets.asyncio.client import connect

    query = f"symbol={SYMBOL}&interval=1m&speed=100000"
    candles = 0
    stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))

    async def replay() -> None:
        nonlocal candles
        while not stop.done():
            async with connect(f"{url}/ws/replay/?{query}", compression=None) as ws:
                async for raw in ws:
                    if stop.done():
                        return
                    if '"candle"' in raw[:16]:
                        candles += 1
                    elif '"complete"' in raw:
                        break
                    elif '"error"' in raw[:16]:
                        raise RuntimeError(f"replay refused: {raw!r}")

    started = time.monotonic()
    tasks = [asyncio.create_task(replay()) for _ in range(count)]
    print("READY", flush=True)
    await stop
    await asyncio.gather(*tasks)
    return {"candles": candles, "seconds": time.monotonic() - started}


def replays_main(argv: list[str]) -> None:
    print(json.dumps(asyncio.run(run_replays(argv[0], int(argv[1])))), flush=True)


def fanout_beside_replays(
    url: str, server: subprocess.Popen, count: int, replays: int
) -> dict[str, float]:
    process = subprocess.Popen(
        [str(BIN / "python"), "-m", "bench.fanout", "replays", url, str(replays)],
        cwd=BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "READY":
        raise RuntimeError("bench replays failed to start")
    time.sleep(2)  # the replays under way
    try:
        figures = fanout(url, server, count)
    finally:
        out, _ = process.communicate("stop\n", timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    figures["replay_candles_per_s"] = round(result["candles"] / result["seconds"])
    return figures


# --- measurements ------------------------------------------------------------------------


def fanout(url: str, server: subprocess.Popen, count: int) -> dict[str, float]:
    import psutil

    from prices.latest import LatestPrice, iso_z
    from prices.realtime.broadcast import publish_price

    updates = RATE * SECONDS
    # Client processes share the clients (the client library costs more CPU per message
    # than the server does); each says READY once its sockets are subscribed.
    shares = [
        count // CLIENT_PROCESSES + (i < count % CLIENT_PROCESSES)
        for i in range(CLIENT_PROCESSES)
    ]
    clients = [
        subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "bench.fanout",
                "clients",
                url,
                str(n),
                str(updates),
            ],
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in shares
        if n
    ]
    for process in clients:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "READY":
            raise RuntimeError("bench clients failed to connect")
    cpu = psutil.Process(server.pid)
    started = time.monotonic()
    for n in range(-WARMUP, updates):
        due = started + (n + WARMUP) / RATE
        time.sleep(max(0.0, due - time.monotonic()))
        if n == 0:
            cpu.cpu_percent()  # starts the measuring window
        now = datetime.now(UTC)
        publish_price(
            LatestPrice(
                symbol=SYMBOL,
                price=time.time(),
                quote="USD",
                as_of=iso_z(now),
                source=str(n),
            )
        )
    server_cpu = cpu.cpu_percent()
    latencies: list[float] = []
    received, client_cpu = 0, 0.0
    for process in clients:
        out, _ = process.communicate(timeout=60)
        result = json.loads(out.strip().splitlines()[-1])
        latencies += [s * 1000 for s in result["latencies"]]
        received += result["received"]
        client_cpu += result["cpu_s"]
    return {
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "lost": count * updates - received,
        "server_cpu_pct": round(server_cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
    }


async def first_frames(url: str, times: int = 7) -> list[float]:
    """Opens `times` replays of the whole range one after another, each closed at its
    first candle: milliseconds from opening the socket to that candle."""
    from websockets.asyncio.client import connect

    query = f"symbol={SYMBOL}&interval=1m&speed=100000"
    figures = []
    for _ in range(times):
        started = time.perf_counter()
        async with connect(f"{url}/ws/replay/?{query}", compression=None) as ws:
            while json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] != "candle":
                pass
            figures.append((time.perf_counter() - started) * 1000)
    return figures


async def replay_once(url: str, server_pid: int) -> dict[str, float]:
    import psutil
    from websockets.asyncio.client import connect

    process = psutil.Process(server_pid)
    before = process.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    http_url = url.replace("ws://", "http://") + "/health/live/"

    def http_latencies(until: threading.Event | None, n: int = 20) -> list[float]:
        import httpx

        figures: list[float] = []
        with httpx.Client(timeout=10) as client:
            while (until is None and len(figures) < n) or (
                until is not None and not until.is_set()
            ):
                started = time.perf_counter()
                client.get(http_url)
                figures.append((time.perf_counter() - started) * 1000)
                time.sleep(0.02)
        return figures

    idle = http_latencies(None)
    during: list[float] = []
    prober = threading.Thread(
        target=lambda: during.extend(http_latencies(stop)), daemon=True
    )
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    prober.start()
    started = time.perf_counter()
    first_frame = starting = None
    candles = 0
    query = f"symbol={SYMBOL}&interval=1m&speed=100000"
    async with connect(f"{url}/ws/replay/?{query}", compression=None) as ws:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "candle":
                if first_frame is None:
                    first_frame = time.perf_counter() - started
                candles += 1
            elif message.get("status") == "starting":
                starting = time.perf_counter() - started
            elif message.get("status") == "complete":
                break
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    prober.join()
    if first_frame is None or candles != REPLAY_CANDLES:
        raise RuntimeError(f"replay sent {candles} of {REPLAY_CANDLES} candles")
    return {
        "first_frame_ms": round(first_frame * 1000, 1),
        "starting_ms": round((starting or 0) * 1000, 1),
        "rss_mb": round(peak[0] / 2**20, 1),
        "rss_growth_mb": round((peak[0] - before) / 2**20, 1),
        "candles_per_s": round(candles / elapsed),
        # Other requests while the replay streams (HTTP on the same process).
        "http_p50_ms_idle": round(statistics.median(idle), 1),
        "http_p50_ms_during": round(statistics.median(during), 1),
    }


def main() -> dict[str, dict]:
    setup_django()
    started = time.monotonic()
    database_url = bench_database_url()
    ensure_bench_database(database_url)
    print(f"   bench database ready ({time.monotonic() - started:.0f}s)", flush=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WS_MAX_CONNECTIONS_PER_IP": "5000",
        "WS_REPLAYS_PER_IP": str(max(REPLAYS, 1)),
        "LOG_LEVEL": "WARNING",
    }
    results: dict[str, dict] = {}
    with web_server(env) as (url, server):
        for count in (100, 1000):
            results[f"fanout_{count}"] = fanout(url, server, count)
            print(
                f"   fanout_{count}: {results[f'fanout_{count}']} "
                f"({time.monotonic() - started:.0f}s)",
                flush=True,
            )
        name = f"fanout_1000_replays_{REPLAYS}"
        results[name] = fanout_beside_replays(url, server, 1000, REPLAYS)
        print(
            f"   {name}: {results[name]} ({time.monotonic() - started:.0f}s)",
            flush=True,
        )
        results["replay"] = asyncio.run(replay_once(url, server.pid))
        # The first frame of a fresh replay, as a median: one run is at the mercy of the
        # machine's scheduler. (The full replay above reports its own as first_ms_cold.)
        frames = asyncio.run(first_frames(url))
        results["replay"]["first_ms_cold"] = results["replay"]["first_frame_ms"]
        results["replay"]["first_frame_ms"] = round(statistics.median(frames), 1)
        print(
            f"   replay: {results['replay']} ({time.monotonic() - started:.0f}s)",
            flush=True,
        )
    # The floor: a bare ASGI fan-out (bench/floor.py) under the same load, right after.
    from prices.realtime.broadcast import channel_prefix, price_group

    floor_env = {**env, "BENCH_FLOOR_CHANNEL": channel_prefix() + price_group(SYMBOL)}
    with web_server(floor_env, app="bench.floor:app") as (url, server):
        floor = results["fanout_1000_floor"] = fanout(url, server, 1000)
    results["fanout_1000"]["p99_vs_floor"] = round(
        results["fanout_1000"]["p99_ms"] / floor["p99_ms"], 2
    )
    print(f"   fanout_1000_floor: {floor} ({time.monotonic() - started:.0f}s)")
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        load_candles()
    elif sys.argv[1:2] == ["clients"]:
        clients_main(sys.argv[2:])
    elif sys.argv[1:2] == ["replays"]:
        replays_main(sys.argv[2:])
    else:
        print(json.dumps(main(), indent=2))
