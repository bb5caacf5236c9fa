"""Concurrent writers on real PostgreSQL connections (one per thread, committed data)."""

import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from marketpulse.errors import MarketPulseError
from portfolio import services
from portfolio.models import Portfolio, Trade
from tests.factories import PortfolioFactory, TradeFactory
from tests.portfolio.helpers import trade

pytestmark = pytest.mark.slow

AT = datetime(2024, 1, 1, tzinfo=UTC)


def run_together(count: int, work):  # type: ignore[no-untyped-def]
    """Runs `work()` in `count` threads released at the same instant; returns results."""
    barrier = threading.Barrier(count)
    results: list = []

    def target() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_sells_cannot_oversell_together(transactional_db, alice, btc):
    for round_ in range(5):
        portfolio = PortfolioFactory(owner=alice, name=f"race {round_}")
        # The one buy is setup, stored as is; the concurrent sells are what is tested.
        TradeFactory(portfolio=portfolio, asset=btc, side="buy", quantity=Decimal(1),
                     price=Decimal(100), executed_at=AT)  # fmt: skip

        def sell(portfolio_id: int = portfolio.pk) -> str:
            try:
                services.record_trade(
                    portfolio=Portfolio.objects.get(pk=portfolio_id),
                    asset=btc,
                    side="sell",
                    quantity=Decimal("0.3"),
                    price=Decimal(110),
                    executed_at=AT,
                )
                return "sold"
            except MarketPulseError as exc:
                return exc.code

        outcome = Counter(run_together(4, sell))
        assert outcome == {"sold": 3, "oversell": 1}, outcome
        sells = Trade.objects.filter(portfolio=portfolio, side="sell")
        assert sum(t.quantity for t in sells) == Decimal("0.9")


def test_concurrent_retries_with_one_idempotency_key_make_one_trade(
    transactional_db, alice, btc
):
    portfolio = PortfolioFactory(owner=alice, name="p")
    url = f"/api/v1/portfolios/{portfolio.pk}/trades/"

    def post():  # type: ignore[no-untyped-def]
        client = APIClient()
        client.force_authenticate(alice)
        response = client.post(
            url, trade(), format="json", headers={"Idempotency-Key": "retry-storm"}
        )
        return response.status_code, response.json()["id"]

    results = run_together(4, post)
    assert [status for status, _ in results] == [201] * 4
    assert len({trade_id for _, trade_id in results}) == 1
    assert Trade.objects.count() == 1
