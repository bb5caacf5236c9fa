from datetime import UTC, datetime

import pytest
from django_redis import get_redis_connection

from prices.latest import COMPLETE_KEY, REDIS_KEY, TIMES_KEY, record_latest_prices


@pytest.fixture(autouse=True)
def _no_stale_latest_prices(db):  # type: ignore[no-untyped-def]
    """Latest prices live in Redis too: a price from another test must not leak in."""
    get_redis_connection("default").delete(REDIS_KEY, TIMES_KEY, COMPLETE_KEY)


@pytest.fixture
def set_prices():  # type: ignore[no-untyped-def]
    def set_(prices: dict) -> None:  # type: ignore[type-arg]
        now = datetime.now(UTC)
        record_latest_prices([(asset, p, now, "test") for asset, p in prices.items()])

    return set_
