"""Concurrent writers, each on its own real PostgreSQL connection: nothing one of them
wrote is lost to the other."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from prices import services
from prices.latest import (
    REDIS_KEY,
    _from_database,
    _refill,
    latest_prices,
    record_latest_prices,
)
from prices.models import CandleRollup
from prices.records import CandleIn
from prices.services import upsert_candles

T0 = datetime(2024, 3, 1, 5, tzinfo=UTC)


def minutes(first: int, count: int) -> list[CandleIn]:
    return [
        CandleIn(T0 + timedelta(minutes=m), 100.0, 110.0, 90.0, 105.0, 1.0)
        for m in range(first, first + count)
    ]


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_hour_both_count_in_its_rollup(btc, monkeypatch):
    """Both writers have inserted their 30 minutes (uncommitted) before either
    refreshes the hour's rollup: the hour must count all 60."""
    both_inserted = threading.Barrier(2, timeout=20)
    refresh = services.refresh_rollups

    def refresh_when_both_inserted(**kwargs):  # type: ignore[no-untyped-def]
        both_inserted.wait()
        refresh(**kwargs)

    monkeypatch.setattr(services, "refresh_rollups", refresh_when_both_inserted)
    errors: list[BaseException] = []

    def write(first: int) -> None:
        try:
            upsert_candles(
                asset=btc, interval="1m", rows=minutes(first, 30), source="t"
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    writers = [threading.Thread(target=write, args=(m,)) for m in (0, 30)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
    assert errors == []
    hour = CandleRollup.objects.get(asset=btc, interval="1h", open_time=T0)
    day = CandleRollup.objects.get(
        asset=btc, interval="1d", open_time=T0.replace(hour=0)
    )
    assert (hour.candles, hour.volume) == (60, 60.0)
    assert (day.candles, day.volume) == (60, 60.0)


@pytest.mark.django_db
def test_a_refill_from_postgresql_never_overwrites_a_newer_price_in_redis(btc):
    """A reader that missed Redis read PostgreSQL; before it refills Redis, a writer
    stores a newer price. The refill must not put the older one back."""
    record_latest_prices([(btc, 100.0, T0, "binance")])
    from django_redis import get_redis_connection

    get_redis_connection("default").delete(REDIS_KEY)  # the reader misses Redis
    read_before_the_write = _from_database(["BTC"])
    record_latest_prices([(btc, 200.0, T0 + timedelta(minutes=1), "binance")])
    _refill(read_before_the_write, complete=False)
    prices, hit = latest_prices(["BTC"])
    assert hit
    assert (prices[0]["price"], prices[0]["as_of"]) == (200.0, "2024-03-01T05:01:00Z")


@pytest.mark.django_db
def test_an_older_price_written_late_never_replaces_a_newer_one_in_redis(btc, eth):
    record_latest_prices([(btc, 200.0, T0 + timedelta(minutes=1), "binance")])
    from prices.latest import _store

    _store([{"symbol": "BTC", "price": 100.0, "quote": "USD",
             "as_of": "2024-03-01T05:00:00Z", "source": "coingecko"}])  # fmt: skip
    assert latest_prices(["BTC"])[0][0]["price"] == 200.0
