"""The market overview: totals, dominance, movers, breadth and a total-cap trend of the
tracked assets, each figure with its `as_of` and `source`.

- Listing figures (market cap, 24h volume, 24h change, supply) are the assets' stored
  ones; their source and time are those of the newest listings sync
  (`prices.selectors.latest_listing_figures`), with per-figure sources where the
  provider gives them (the replay provider: supply from a recorded CoinGecko payload,
  dated as that payload). An asset without a figure is left out of that total and listed
  under `missing`, never counted as zero.
- Trend: per day, the sum over the assets with a known circulating supply of their daily
  close x that supply (today's supply applied to past closes: an approximation, stated in
  the figure's `source`). A day where some of those assets have no candle is marked
  `complete: false`; assets without supply are listed under `excluded`.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from analytics.report import latest_market_report
from assets.models import Asset
from prices import selectors
from prices.intervals import floor_time


def _listing_provenance() -> tuple[str, datetime | str | None, dict[str, Any]]:
    listing = selectors.latest_listing_figures()
    if listing is None:
        return "asset listings (no listings sync recorded)", None, {}
    return (
        listing["provider"],
        listing["as_of"] or listing["synced_at"],
        listing["sources"],
    )


def _source_of(name: str, provider: str, sources: dict[str, Any]) -> str:
    detail = sources.get(name)
    return f"{provider}: {detail}" if isinstance(detail, str) else provider


def market_overview(*, top: int, trend_days: int) -> dict[str, Any]:
    """The overview as served (GET /api/v1/analytics/market/)."""
    assets: list[dict[str, Any]] = list(
        Asset.objects.tracked().order_by("symbol").values(  # type: ignore[arg-type]
            "id", "symbol", "name", "price", "price_as_of", "price_source",
            "market_cap", "volume_24h", "change_24h", "circulating_supply", "rank",
        )
    )  # fmt: skip
    provider, as_of, sources = _listing_provenance()
    capped = [a for a in assets if a["market_cap"] is not None]
    total_cap = sum(a["market_cap"] for a in capped)
    volumes = [a for a in assets if a["volume_24h"] is not None]
    moved = [a for a in assets if a["change_24h"] is not None]
    movers = sorted(moved, key=lambda a: (a["change_24h"], a["symbol"]))

    def mover(a: dict[str, Any]) -> dict[str, Any]:
        return {
            "symbol": a["symbol"],
            "change_24h": a["change_24h"],
            "price": a["price"],
            "price_as_of": a["price_as_of"],
            "price_source": a["price_source"] or None,
        }

    by_cap = sorted(capped, key=lambda a: (-a["market_cap"], a["symbol"]))
    return {
        "quote": settings.QUOTE_CURRENCY,
        "assets": len(assets),
        "total_market_cap": {
            "value": total_cap if capped else None,
            "assets_counted": len(capped),
            "missing": [a["symbol"] for a in assets if a["market_cap"] is None],
            "as_of": as_of,
            "source": _source_of("market_cap", provider, sources),
        },
        "total_volume_24h": {
            "value": sum(a["volume_24h"] for a in volumes) if volumes else None,
            "assets_counted": len(volumes),
            "missing": [a["symbol"] for a in assets if a["volume_24h"] is None],
            "as_of": as_of,
            "source": _source_of("volume_24h", provider, sources),
        },
        "dominance": {
            "results": [
                {
                    "symbol": a["symbol"],
                    "market_cap": a["market_cap"],
                    "share": a["market_cap"] / total_cap if total_cap else None,
                }
                for a in by_cap[:top]
            ],
            "as_of": as_of,
            "source": _source_of("market_cap", provider, sources),
        },
        "gainers": {
            "results": [mover(a) for a in reversed(movers[-top:])],
            "as_of": as_of,
            "source": _source_of("change_24h", provider, sources),
        },
        "losers": {
            "results": [mover(a) for a in movers[:top]],
            "as_of": as_of,
            "source": _source_of("change_24h", provider, sources),
        },
        "breadth": {
            "advancing": sum(a["change_24h"] > 0 for a in moved),
            "declining": sum(a["change_24h"] < 0 for a in moved),
            "unchanged": sum(a["change_24h"] == 0 for a in moved),
            "unknown": len(assets) - len(moved),
            "as_of": as_of,
            "source": _source_of("change_24h", provider, sources),
        },
        "supply": {
            "results": [
                {
                    "symbol": a["symbol"],
                    "circulating_supply": a["circulating_supply"],
                    **_supply_provenance(a["symbol"], provider, as_of, sources),
                }
                for a in assets
                if a["circulating_supply"] is not None
            ]
        },
        "trend": market_cap_trend(
            assets=assets, days=trend_days, provider=provider, sources=sources
        ),
        "report": latest_market_report(),
    }


def _supply_provenance(
    symbol: str, provider: str, as_of: Any, sources: dict[str, Any]
) -> dict[str, Any]:
    detail = sources.get("circulating_supply")
    if isinstance(detail, dict) and symbol in detail:
        return {"as_of": detail[symbol]["as_of"], "source": detail[symbol]["source"]}
    return {"as_of": as_of, "source": provider}


def market_cap_trend(
    *,
    assets: list[dict[str, Any]],
    days: int,
    provider: str,
    sources: dict[str, Any],
) -> dict[str, Any]:
    """Daily total cap over the last `days` days (see the module docstring)."""
    end = floor_time(datetime.now(UTC), "1d") + timedelta(days=1)
    start = end - timedelta(days=days)
    supplied = [a for a in assets if a["circulating_supply"]]
    totals: dict[int, float] = {}
    counts: dict[int, int] = {}
    for asset in supplied:
        columns = selectors.candle_columns(
            asset_id=asset["id"], interval="1d", start=start, end=end
        )
        opens, closes = columns.open_time.tolist(), columns.close.tolist()
        for t, close in zip(opens, closes, strict=True):
            totals[t] = totals.get(t, 0.0) + close * asset["circulating_supply"]
            counts[t] = counts.get(t, 0) + 1
    points = [
        {
            "time": datetime.fromtimestamp(t, UTC),
            "market_cap": totals[t],
            "assets": counts[t],
            "complete": counts[t] == len(supplied),
        }
        for t in sorted(totals)
    ]
    return {
        "interval": "1d",
        "start": start,
        "end": end,
        "points": points,
        "included": [a["symbol"] for a in supplied],
        "excluded": [
            {"symbol": a["symbol"], "reason": "no circulating supply known"}
            for a in assets
            if not a["circulating_supply"]
        ],
        "as_of": points[-1]["time"] if points else None,
        "source": "stored 1d candles (close) x circulating supply as listed now "
        f"({_source_of('circulating_supply', provider, sources)})",
    }
