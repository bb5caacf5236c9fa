"""Test data: one factory per model, whose defaults satisfy every constraint of its table.

Tests name only the fields they are about (`AssetFactory(symbol="LUNA")`); the rest are
valid filler. Unique fields come from sequences, related rows from `SubFactory`.
CandleRollup has none: rollups are derived by `upsert_candles`, and the tests check
exactly those writes.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from factory.django import DjangoModelFactory

from analytics.alerts.models import Alert, WebhookEndpoint
from analytics.models import MarketReport
from assets.models import Asset
from marketpulse.accounts.keys import KEY_START, PREFIX_CHARS, hash_key
from marketpulse.accounts.permissions import OPERATOR_GROUP
from marketpulse.models import ApiKey, IdempotencyKey
from portfolio.models import Portfolio, Side, Trade
from prices.intervals import DURATIONS, Interval
from prices.models import Candle, CandleGap, SyncJob, SyncRun

# Every user's password (the personas' too), so a test can sign in as anyone it made.
PASSWORD = "correct horse battery staple"
# Where sequences of candles and trades start: an aligned open time for every interval.
T0 = datetime(2024, 1, 1, tzinfo=UTC)


class GroupFactory(DjangoModelFactory[Group]):
    class Meta:
        model = Group
        # Roles are made by a migration; a flushed (transactional) test makes them again.
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"group {n}")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)

    class Params:
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def groups(self, create: bool, extracted: list[Group] | None, **_: object) -> None:
        """`UserFactory(groups=[...])` puts the user in those groups."""
        if create and extracted:
            self.groups.add(*extracted)


class OperatorFactory(UserFactory):
    """A member of the operator group (sync API, admin tools)."""

    @factory.post_generation
    def groups(self, create: bool, extracted: list[Group] | None, **_: object) -> None:
        if create:
            self.groups.add(*(extracted or [GroupFactory(name=OPERATOR_GROUP)]))


class AssetFactory(DjangoModelFactory[Asset]):
    class Meta:
        model = Asset

    # Upper case, as the table's check constraint wants.
    symbol = factory.Sequence(lambda n: f"COIN{n}")
    name = factory.LazyAttribute(lambda asset: f"{asset.symbol.title()} Coin")


class CandleFactory(DjangoModelFactory[Candle]):
    """Consecutive candles of one interval (from T0), valid OHLC unless told otherwise."""

    class Meta:
        model = Candle

    asset = factory.SubFactory(AssetFactory)
    interval = Interval.M1
    open_time = factory.LazyAttributeSequence(
        lambda candle, n: T0 + n * DURATIONS[candle.interval]
    )
    open = 100.0
    high = 110.0
    low = 90.0
    close = 105.0
    volume = 1.0


class CandleGapFactory(DjangoModelFactory[CandleGap]):
    class Meta:
        model = CandleGap

    asset = factory.SubFactory(AssetFactory)
    interval = Interval.M1
    start = factory.LazyAttributeSequence(
        lambda gap, n: T0 + 10 * n * DURATIONS[gap.interval]
    )
    missing = 1
    end = factory.LazyAttribute(
        lambda gap: gap.start + gap.missing * DURATIONS[gap.interval]
    )


class SyncRunFactory(DjangoModelFactory[SyncRun]):
    class Meta:
        model = SyncRun

    job = SyncJob.PRICES


class MarketReportFactory(DjangoModelFactory[MarketReport]):
    class Meta:
        model = MarketReport

    day = factory.Sequence(lambda n: date(2024, 1, 1) + timedelta(days=n))
    data = factory.LazyFunction(dict)


class PortfolioFactory(DjangoModelFactory[Portfolio]):
    class Meta:
        model = Portfolio

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Portfolio {n}")
    base_currency = "USD"


class TradeFactory(DjangoModelFactory[Trade]):
    """A trade stored as is: no oversell check (that is `record_trade`'s job)."""

    class Meta:
        model = Trade

    portfolio = factory.SubFactory(PortfolioFactory)
    asset = factory.SubFactory(AssetFactory)
    side = Side.BUY
    quantity = Decimal(1)
    price = Decimal(100)
    executed_at = T0


class ApiKeyFactory(DjangoModelFactory[ApiKey]):
    """`ApiKeyFactory(raw=...)` stores the key that `raw` authenticates as."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"key {n}")
    prefix = factory.LazyAttribute(lambda key: key.raw[: len(KEY_START) + PREFIX_CHARS])
    hashed_key = factory.LazyAttribute(lambda key: hash_key(key.raw))

    class Params:
        # The shape `create_api_key` gives out: mp_, 8 hex digits, _, 43 URL-safe chars.
        raw = factory.Sequence(lambda n: f"{KEY_START}{n:08x}_{'k' * 43}")


class IdempotencyKeyFactory(DjangoModelFactory[IdempotencyKey]):
    """A stored first response; `created_at` is set by the table (age it with update)."""

    class Meta:
        model = IdempotencyKey

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    fingerprint = "f" * 64
    response_status = 201
    response_body = factory.LazyFunction(dict)


class AlertFactory(DjangoModelFactory[Alert]):
    """An armed "price above `level`" alert; its engine columns follow `level` (rules of
    other kinds go through `analytics.alerts.services`, which derives them)."""

    class Meta:
        model = Alert

    user = factory.SubFactory(UserFactory)
    asset = factory.SubFactory(AssetFactory)
    kind = "price"
    direction = "above"
    level = 100.0
    hysteresis = 0.0
    metric = "price"
    op = factory.LazyAttribute(lambda alert: alert.direction)
    threshold = factory.LazyAttribute(lambda alert: alert.level)
    rearm_threshold = factory.LazyAttribute(
        lambda alert: (
            alert.level - alert.hysteresis
            if alert.direction == "above"
            else alert.level + alert.hysteresis
        )
    )


class WebhookEndpointFactory(DjangoModelFactory[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint

    user = factory.SubFactory(UserFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    secret = factory.Sequence(lambda n: f"whsec_test_{n:040d}")
