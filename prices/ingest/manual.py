"""Manual prices: an operator's price for an asset, through the sync's own path (latest
price, forming candles, fan-out, alerts) with source "manual"."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from analytics.alerts import evaluate
from assets.models import Asset
from prices.ingest.sync import publish_all
from prices.latest import record_latest_prices
from prices.models import ManualPrice

SOURCE = "manual"


@dataclass(frozen=True, slots=True)
class Recorded:
    manual: ManualPrice
    published: int  # web processes reached (0: Redis down or nobody listening)
    alerts_fired: int


def record_manual_price(
    *,
    asset: Asset,
    price: float,
    as_of: datetime,
    user: User | None,
    note: str = "",
) -> Recorded:
    """Stores the price (kept as a record even when a newer price is already held:
    `applied` is False then, and nothing is published)."""
    with transaction.atomic():
        fresh = record_latest_prices([(asset, price, as_of, SOURCE)])
        manual = ManualPrice.objects.create(
            asset=asset, price=price, as_of=as_of, recorded_by=user, note=note,
            applied=bool(fresh),
        )  # fmt: skip
    published = publish_all(fresh.prices)
    fired = evaluate.check_prices(fresh.prices)
    return Recorded(manual=manual, published=published, alerts_fired=len(fired))
