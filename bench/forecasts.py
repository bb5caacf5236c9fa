"""`make bench` forecasts section: training, prediction latency, a 2-year backtest.

- Data: a database of its own (`marketpulse_bench_forecasts` on the server of
  DATABASE_URL, or BENCH_FORECASTS_DATABASE_URL) and Redis db 13
  (BENCH_FORECASTS_REDIS_URL), holding exactly the demo data (`load_demo_data`).
- Training: `train_models` for every demo asset x horizon (1h, 24h, 7d) with the default
  settings, in one process, single-threaded (as the Celery task runs it); pairs with too
  little history are skipped and counted.
- Prediction: uvicorn with 1 worker; one HTTP connection (httpx, keep-alive) POSTing
  `/api/v1/analytics/predictions/` one request at a time with a user's token: p50 and
  p90 over BENCH_FORECAST_REQUESTS (default 200) after 20 warm-up requests, for the
  served model and for the two costliest families (ARIMA filters 500 candles, gradient
  boosting builds its features) on BTC 24h.
- Backtest: walk-forward over the latest 2 years of BTC daily candles, an origin every
  day (730 origins, 7d horizon), every family, at most FORECAST_BACKTEST_FITS fits each.
"""

import json
import os
import statistics
import subprocess
import time

import httpx

from bench import api
from bench.api import BASE_DIR, PYTHON, ensure_database, manage
from tests.servers import asgi_server

DATABASE = "marketpulse_bench_forecasts"
REQUESTS = int(os.environ.get("BENCH_FORECAST_REQUESTS", "200"))

WORK = """
import django; django.setup()
import json, math, time
from datetime import UTC, datetime
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import RefreshToken
from analytics.forecasts import services, selectors
from analytics.forecasts.horizons import HORIZONS
from analytics.forecasts.models import ForecastModel, Prediction, TrainingRun
from analytics.forecasts.walkforward import origin_ends, walk_forward
from assets.models import Asset
from django.conf import settings

ForecastModel.objects.all().delete()
Prediction.objects.all().delete()
run = TrainingRun.objects.create(params={"bench": True})
started = time.perf_counter()
services.train_models(run=run, symbols=None, horizons=None)
train_s = time.perf_counter() - started
summary = TrainingRun.objects.get(pk=run.pk).summary
trained = sum(1 for v in summary.values() if "served" in v)

btc = Asset.objects.get(symbol="BTC")
horizon = HORIZONS["7d"]
series = selectors.load_series(asset_id=btc.pk, horizon=horizon,
                               until=datetime.now(UTC), candles=730 + 7 + 300)
ends = origin_ends(size=len(series), steps=7, count=730, step=1,
                   first=settings.FORECAST_MIN_HISTORY)
started = time.perf_counter()
per_family = {}
for name, family in services.families(horizon).items():
    t = time.perf_counter()
    walk_forward(series=series, family=family, steps=7, ends=ends, step=1,
                 refit_every=max(1, math.ceil(len(ends) / settings.FORECAST_BACKTEST_FITS)),
                 conformal_window=settings.FORECAST_CONFORMAL_WINDOW,
                 conformal_minimum=settings.FORECAST_CONFORMAL_MIN)
    per_family[name] = round(time.perf_counter() - t, 2)
backtest_s = time.perf_counter() - started

table = []
for m in ForecastModel.objects.select_related("asset").order_by("asset__symbol", "horizon", "family"):
    f = m.metrics
    table.append([m.asset.symbol, m.horizon, m.family, m.is_served, f["targets"],
                  f["mae"], f["skill_vs_naive"], f["directional_accuracy"],
                  f["intervals"]["80"]["coverage"], f["intervals"]["95"]["coverage"],
                  f["skill_p_value"]])
user, _ = get_user_model().objects.get_or_create(username="bench-forecasts")
token = str(RefreshToken.for_user(user).access_token)
print("RESULT " + json.dumps({
    "train_s": train_s, "pairs_trained": trained, "pairs_skipped": len(summary) - trained,
    "backtest_s": backtest_s, "backtest_origins": len(ends), "per_family": per_family,
    "table": table, "token": token, "summary": summary,
}))
"""


def latencies(base: str, token: str, body: dict) -> dict[str, float]:
    times = []
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/analytics/predictions/"
    with httpx.Client(headers=headers, timeout=30) as client:  # one connection
        for n in range(REQUESTS + 20):
            started = time.perf_counter()
            response = client.post(url, json=body)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 201:
                raise SystemExit(
                    f"bench forecasts: {response.status_code} {response.text}"
                )
            if n >= 20:
                times.append(elapsed)
    times.sort()
    return {
        "p50_ms_c1": round(statistics.median(times), 2),
        "p90_ms_c1": round(times[int(len(times) * 0.9)], 2),
    }


def print_accuracy(table: list[list]) -> None:
    print("   symbol horizon model           served targets        mae    skill"
          "       p   dir  cov80  cov95")  # fmt: skip

    def show(value: object, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for symbol, horizon, family, served, n, mae, skill, hit, c80, c95, p in table:
        print(f"   {symbol:6} {horizon:7} {family:15} {'*' if served else ' ':6} "
              f"{n:7} {show(mae, '10.4g')} {show(skill, '8.4f')} {show(p, '7.3f')} "
              f"{show(hit, '5.2f')} {show(c80, '6.2f')} {show(c95, '6.2f')}")  # fmt: skip


def main() -> dict[str, dict]:
    env = api.bench_env(database=DATABASE, redis_db=13, variable="BENCH_FORECASTS")
    ensure_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_demo_data")
    done = subprocess.run(
        [PYTHON, "-c", WORK],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "marketpulse.settings"},
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    work = json.loads(line.removeprefix("RESULT "))
    print(f"   trained {work['pairs_trained']} asset x horizon pairs in "
          f"{work['train_s']:.1f}s ({work['pairs_skipped']} skipped: too little "
          "history)", flush=True)  # fmt: skip
    print(
        f"   backtest, 2 years of BTC daily candles ({work['backtest_origins']} "
        f"origins, 7d): {work['backtest_s']:.1f}s {work['per_family']}",
        flush=True,
    )
    print_accuracy(work["table"])
    results: dict[str, dict] = {
        "forecasts_training": {
            "seconds": round(work["train_s"], 2),
            "pairs": work["pairs_trained"],
        },
        "forecasts_backtest_2y_1d": {
            "seconds": round(work["backtest_s"], 2),
            "origins": work["backtest_origins"],
        },
    }
    with asgi_server(env, workers=1) as base:
        for name, body in (
            ("served", {"symbol": "BTC", "horizon": "24h"}),
            ("arima", {"symbol": "BTC", "horizon": "24h", "model": "arima"}),
            ("gbm", {"symbol": "BTC", "horizon": "24h", "model": "gbm"}),
        ):
            results[f"forecasts_predict_{name}"] = latencies(base, work["token"], body)
            print(f"   predict BTC 24h {name}: {results[f'forecasts_predict_{name}']}",
                  flush=True)  # fmt: skip
    return results
