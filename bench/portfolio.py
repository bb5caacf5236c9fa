"""Portfolio figures are computed from the trades on every read: how long that takes.

For portfolios of 1,000 and 10,000 trades (two assets, alternating buys and partial
sells): /positions/ and /pnl/ through the selectors, and `record_trade`, which replays the
asset's trades to refuse oversells. Medians of a few runs, in milliseconds.
"""

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketpulse.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from assets.models import Asset  # noqa: E402
from portfolio import selectors, services  # noqa: E402
from portfolio.models import Portfolio, Trade  # noqa: E402
from prices.latest import record_latest_prices  # noqa: E402

SIZES = [1_000, 10_000]
RUNS = 7
START = datetime(2020, 1, 1, tzinfo=UTC)


def median_ms(work, runs: int = RUNS) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def build(owner, assets: list[Asset], size: int) -> Portfolio:  # type: ignore[no-untyped-def]
    portfolio = Portfolio.objects.create(
        owner=owner, name=f"bench {size}", base_currency="USD"
    )
    trades = []
    for i in range(size):
        asset = assets[i % len(assets)]
        buy = (i // len(assets)) % 2 == 0
        trades.append(
            Trade(
                portfolio=portfolio,
                asset=asset,
                side="buy" if buy else "sell",
                quantity=Decimal("1") if buy else Decimal("0.5"),
                price=Decimal(100 + i % 37) + Decimal("0.123456"),
                fee=Decimal("0.25"),
                executed_at=START + timedelta(minutes=i),
            )
        )
    Trade.objects.bulk_create(trades, batch_size=5000)
    return portfolio


def main() -> dict[str, dict[str, float]]:
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-portfolio")
    Portfolio.objects.filter(owner=user).delete()
    assets = [
        Asset.objects.get_or_create(symbol=s, defaults={"name": s})[0]
        for s in ("BENCHA", "BENCHB")
    ]
    record_latest_prices([(a, 123.45, datetime.now(UTC), "bench") for a in assets])
    results: dict[str, dict[str, float]] = {}
    try:
        for size in SIZES:
            portfolio = build(user, assets, size)
            at = START + timedelta(minutes=size + 1)

            def record(portfolio: Portfolio = portfolio, at: datetime = at) -> None:
                services.record_trade(
                    portfolio=portfolio,
                    asset=assets[0],
                    side="buy",
                    quantity=Decimal("0.01"),
                    price=Decimal(100),
                    executed_at=at,
                )

            results[f"portfolio_{size}_trades"] = {
                "positions_ms": median_ms(
                    lambda p=portfolio: selectors.positions_for(portfolio=p)
                ),
                "pnl_ms": median_ms(lambda p=portfolio: selectors.pnl_for(portfolio=p)),
                "record_trade_ms": median_ms(record),
            }
            print(size, results[f"portfolio_{size}_trades"], flush=True)
    finally:
        Portfolio.objects.filter(owner=user).delete()
        user.delete()
    return results


if __name__ == "__main__":
    print(main())
