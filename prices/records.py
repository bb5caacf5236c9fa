"""Plain records of market data as providers hand it over; no I/O, no Django.

Providers build these and nothing else of `prices`; the write services take them.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CandleIn:
    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class PriceIn:
    symbol: str
    price: float
    as_of: datetime
