"""Plain records of assets as providers list them; no I/O, no Django."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ListingIn:
    symbol: str
    name: str
    price: float
    as_of: datetime
    rank: int | None = None
    market_cap: float | None = None
    volume_24h: float | None = None
    change_24h: float | None = None
    circulating_supply: float | None = None
    total_supply: float | None = None
    max_supply: float | None = None
    coingecko_id: str | None = None
    coinmarketcap_id: int | None = None
