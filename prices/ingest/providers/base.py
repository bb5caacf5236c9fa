"""The one shape every provider has, and the records they all normalise into."""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from assets.models import Asset
from assets.records import ListingIn
from prices.records import CandleIn, PriceIn

# A price stamped further ahead than this is a provider clock or parsing bug.
FUTURE_TOLERANCE = timedelta(minutes=5)


class ProviderError(Exception):
    """The provider could not serve this request; the sync tries the next provider."""


class ProviderUnavailable(ProviderError):
    """Network failure, timeouts, 5xx or rate limiting, after the retries ran out."""


class ProviderDataError(ProviderError):
    """The provider answered with something that is not the documented payload."""


class NotSupported(ProviderError):
    """This provider does not offer this kind of data (e.g. CoinMarketCap candles)."""


@dataclass
class Fetched[T]:
    """Normalised records plus the entries dropped while normalising, by reason."""

    records: list[T] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1


class Provider:
    """Subclasses override what they offer; the rest raises `NotSupported`."""

    name: str = ""
    # Candle intervals this provider can return, and how many candles one call returns.
    intervals: frozenset[str] = frozenset()
    max_candles_per_call: int = 1000

    def listings(self, *, limit: int) -> Fetched[ListingIn]:
        raise NotSupported(f"{self.name} has no listings")

    def latest_prices(self, *, assets: list[Asset]) -> Fetched[PriceIn]:
        raise NotSupported(f"{self.name} has no latest prices")

    def candles(
        self, *, asset: Asset, interval: str, start: datetime, end: datetime
    ) -> Fetched[CandleIn]:
        """Candles opening in [start, end), open times aligned to `interval`."""
        raise NotSupported(f"{self.name} has no candles")


# Small parsing helpers shared by the providers: they raise ValueError/KeyError/TypeError,
# which the callers turn into a per-entry rejection.


def number(value: Any) -> float:
    """A finite float from a JSON number or numeric string (Binance sends strings)."""
    if isinstance(value, bool) or value is None:
        raise TypeError("not a number")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError("not finite")
    return result


def optional_number(value: Any) -> float | None:
    return None if value is None else number(value)


def positive_price(value: Any) -> float:
    price = number(value)
    if price <= 0:
        raise ValueError("non_positive_price")
    return price


def from_millis(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("timestamp is not a number")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def from_iso(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment.astimezone(UTC)


def sane_as_of(moment: datetime, *, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if moment > now + FUTURE_TOLERANCE:
        raise ValueError("as_of_in_future")
    return moment


def reason_for(exc: Exception) -> str:
    """The rejection reason counted for a payload entry that failed to normalise."""
    if isinstance(exc, KeyError):
        return "missing_field"
    message = str(exc)
    return message if message.replace("_", "").isalpha() else "bad_value"
