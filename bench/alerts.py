"""Alert evaluation and delivery under load (issue 14).

10,000 enabled price alerts (above and below, levels spread ±20% around the start) over
10 assets, owned by 100 users, each with a real `/ws/alerts/` client on a real web server.
Prices arrive at 10 per second, a random walk per asset, through the manual-price path's
own steps (latest price, publish, `check_prices`). Reported:

- `eval_ms`: `check_prices` for one price (both statements, the events, their delivery
  rows), p50 / p99, with 10,000 alerts and, for scale, with the same alerts disabled
  (`eval_idle_ms`: what a price costs when it reaches nothing);
- `push_ms`: from the price's arrival to the event on its owner's socket, p50 / p99 / max;
- fired, received: every firing reaches its owner's client once (lost and doubled = 0).
"""

import asyncio
import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.fanout import percentile, setup_django, web_server

ASSETS = 10
doubled: list[int] = []  # event ids a client received twice (must stay empty)
USERS = 100
ALERTS = 10_000
RATE = 10  # prices per second
SECONDS = 30
START_PRICE = 100.0


def build() -> tuple[list[Any], list[Any]]:
    from django.contrib.auth import get_user_model

    from analytics.alerts.conditions import check_rule
    from analytics.alerts.models import Alert
    from assets.models import Asset

    User = get_user_model()
    User.objects.filter(username__startswith="bench-alerts-").delete()
    Asset.objects.filter(symbol__startswith="BENCHAL").delete()
    assets = [
        Asset.objects.create(symbol=f"BENCHAL{n}", name=f"Bench {n}")
        for n in range(ASSETS)
    ]
    users = [User.objects.create(username=f"bench-alerts-{n}") for n in range(USERS)]
    rng = random.Random(14)
    rows = []
    for n in range(ALERTS):
        direction = "above" if n % 2 else "below"
        level = START_PRICE * rng.uniform(0.8, 1.2)
        rule = {"kind": "price", "direction": direction, "level": level}
        checked = check_rule(rule)
        rows.append(
            Alert(
                user=users[n % USERS], asset=assets[n % ASSETS], kind="price",
                direction=direction, level=level, metric=checked["metric"],
                op=checked["op"], threshold=checked["threshold"],
                rearm_threshold=checked["rearm_threshold"],
                # As created against the start price: already true waits.
                armed=not (level <= START_PRICE if direction == "above" else level >= START_PRICE),
            )
        )  # fmt: skip
    Alert.objects.bulk_create(rows, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE alerts_alert")
    return assets, users


def listen(
    url: str,
    tokens: dict[int, str],
    received: dict[int, float],
    ready: threading.Event,
    stop: threading.Event,
) -> None:
    from websockets.asyncio.client import connect

    async def client(token: str) -> None:
        async with connect(f"{url}/ws/alerts/?token={token}", max_queue=None) as ws:
            await ws.recv()  # subscribed
            counter["ready"] += 1
            if counter["ready"] == len(tokens):
                ready.set()
            while not stop.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                event = orjson.loads(frame)["event"]
                if event["id"] in received:
                    doubled.append(event["id"])
                received[event["id"]] = time.perf_counter()

    counter = {"ready": 0}

    async def run() -> None:
        await asyncio.gather(*(client(t) for t in tokens.values()))

    asyncio.run(run())


def measure(assets: list[Any], received: dict[int, float]) -> dict[str, Any]:
    from analytics.alerts import evaluate
    from prices.ingest.sync import publish_all
    from prices.latest import record_latest_prices

    rng = random.Random(7)
    prices = {a.pk: START_PRICE for a in assets}
    eval_ms: list[float] = []
    arrived: dict[int, float] = {}  # event id -> its price's arrival
    clock = datetime.now(UTC)
    next_at = time.perf_counter()
    for n in range(RATE * SECONDS):
        asset = assets[n % ASSETS]
        prices[asset.pk] *= 1 + rng.gauss(0, 0.004)
        clock += timedelta(milliseconds=100)
        next_at += 1 / RATE
        time.sleep(max(0.0, next_at - time.perf_counter()))
        start = time.perf_counter()
        fresh = record_latest_prices([(asset, prices[asset.pk], clock, "bench")])
        publish_all(fresh.prices)
        began = time.perf_counter()
        events = evaluate.check_prices(fresh.prices)
        eval_ms.append((time.perf_counter() - began) * 1000)
        for event in events:
            arrived[event.pk] = start
    return {"eval_ms": eval_ms, "arrived": arrived}


def idle_cost(assets: list[Any]) -> list[float]:
    from analytics.alerts import evaluate
    from analytics.alerts.models import Alert
    from prices.latest import record_latest_prices

    Alert.objects.filter(asset__in=assets).update(enabled=False)
    clock, costs = datetime.now(UTC) + timedelta(hours=1), []
    for n in range(200):
        asset = assets[n % ASSETS]
        clock += timedelta(milliseconds=100)
        fresh = record_latest_prices([(asset, START_PRICE, clock, "bench")])
        began = time.perf_counter()
        evaluate.check_prices(fresh.prices)
        costs.append((time.perf_counter() - began) * 1000)
    return costs


def main() -> dict[str, dict[str, float]]:
    setup_django()
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import AccessToken

    call_command("migrate", verbosity=0)
    assets, users = build()
    tokens = {u.pk: str(AccessToken.for_user(u)) for u in users}
    env = {**os.environ, "LOG_LEVEL": "WARNING", "WS_MAX_CONNECTIONS_PER_IP": "5000"}
    received: dict[int, float] = {}
    ready, stop = threading.Event(), threading.Event()
    with web_server(env) as (url, _):
        thread = threading.Thread(
            target=listen, args=(url, tokens, received, ready, stop), daemon=True
        )
        thread.start()
        if not ready.wait(60):
            raise RuntimeError("alert clients did not connect")
        result = measure(assets, received)
        time.sleep(2)  # the last pushes
        stop.set()
        thread.join(5)
    idle = idle_cost(assets)
    arrived = result["arrived"]
    push = [(received[e] - t) * 1000 for e, t in arrived.items() if e in received]
    lost = len([e for e in arrived if e not in received])
    evals = result["eval_ms"]
    return {
        "alerts_10k_eval": {
            "p50_ms": percentile(evals, 0.5), "p99_ms": percentile(evals, 0.99),
            "idle_p50_ms": percentile(idle, 0.5), "idle_p99_ms": percentile(idle, 0.99),
        },
        "alerts_10k_push": {
            "p50_ms": percentile(push, 0.5), "p99_ms": percentile(push, 0.99),
            "max_ms": max(push, default=float("nan")),
        },
        "alerts_10k_events": {
            "prices": float(len(evals)), "fired": float(len(arrived)),
            "received": float(len(push)), "lost": float(lost),
            "doubled": float(len(doubled)),
        },
    }  # fmt: skip
