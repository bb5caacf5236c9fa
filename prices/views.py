"""Price endpoints: latest prices (Redis first) and OHLCV history with exact resampling."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from assets.models import Asset
from assets.schema import SYMBOL_PARAMETER
from assets.symbols import clean_symbol
from marketpulse.api import caching, held
from marketpulse.api.negotiation import JsonFirstMixin
from marketpulse.api.renderers import (
    CSVRenderer,
    OrjsonRenderer,
    dumps,
    records_json,
)
from marketpulse.api.schema import NOT_FOUND, READ_ERRORS
from prices import selectors
from prices.intervals import close_times, gaps_between, next_open
from prices.latest import (
    LatestPrice,
    iso_z,
    latest_prices,
)
from prices.rollups import ceil_time
from prices.serializers import (
    CandlePageSerializer,
    CandleQuerySerializer,
    LatestPriceListSerializer,
    LatestPriceSerializer,
    SymbolsQuerySerializer,
)


def asset_id_for(symbol: str) -> int:
    asset_id = Asset.objects.filter(symbol=symbol).values_list("id", flat=True).first()
    if asset_id is None:
        raise NotFound(f"No asset with symbol {symbol}.")
    return asset_id


def candle_series(symbol: str, interval: str) -> selectors.CandleSeries:
    """The asset's series, its stored intervals held by the web process between
    changes to its candles or to it (`marketpulse.api.held`): a cold candle page is
    then one statement, where this lookup was a round trip of its own."""
    key = f"stored-series:{symbol}"
    found: selectors.StoredSeries | None = held.HELD.get(key)
    if found is None:
        seen = held.HELD.generation
        found = selectors.stored_series(symbol=symbol)
        if found is None:
            raise NotFound(f"No asset with symbol {symbol}.")
        held.HELD.keep_fact(key, symbol, found, seen=seen)
    return found.series(interval)


def latest_payload(price: LatestPrice, now: datetime) -> dict[str, Any]:
    as_of = datetime.fromisoformat(price["as_of"])
    return {**price, "age_seconds": round((now - as_of).total_seconds(), 3)}


LATEST_EXAMPLE = {
    "symbol": "BTC",
    "price": 64123.5,
    "quote": "USD",
    "as_of": "2024-03-01T12:00:00Z",
    "source": "binance",
    "age_seconds": 2.4,
}

CANDLE_EXAMPLE = {
    "symbol": "BTC",
    "interval": "1h",
    "quote": "USD",
    "stored_interval": "1m",
    "order": "asc",
    "count": 1,
    "next": "/api/v1/prices/BTC/candles/?interval=1h&limit=1&order=asc&start=2018-06-18T06%3A00%3A00Z",
    "gaps": [],
    "results": [
        {
            "open_time": "2018-06-18T05:00:00Z",
            "close_time": "2018-06-18T06:00:00Z",
            "open": 6450.0,
            "high": 6481.1,
            "low": 6440.0,
            "close": 6472.9,
            "volume": 812.4,
            "is_closed": True,
        }
    ],
}


class PriceViewSet(JsonFirstMixin, viewsets.ViewSet):
    """Latest prices and candle history; public reads, throttled per client."""

    renderer_classes = [OrjsonRenderer]
    lookup_field = "symbol"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        summary="Latest prices",
        operation_id="prices_latest",
        description="Served from Redis (`X-Cache: HIT`), falling back to PostgreSQL "
        "(`MISS`). Every tracked asset with a price when `symbols` is absent.",
        parameters=[SymbolsQuerySerializer],
        responses={200: LatestPriceListSerializer, **READ_ERRORS},
        examples=[
            OpenApiExample(
                "two prices",
                value={"count": 1, "results": [LATEST_EXAMPLE], "missing": ["XYZ"]},
                response_only=True,
            )
        ],
    )
    @action(detail=False, url_path="latest")
    def latest(self, request: Request) -> HttpResponseBase:
        query = SymbolsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        symbols: list[str] | None = query.validated_data.get("symbols")
        prices, hit = latest_prices(symbols)
        now = datetime.now(UTC)
        found = {p["symbol"] for p in prices}
        body = {
            "count": len(prices),
            "results": [latest_payload(p, now) for p in prices],
            "missing": [s for s in symbols or [] if s not in found],
        }
        return caching.json_with_x_cache(dumps(body), hit=hit)

    @extend_schema(
        summary="Latest price of one asset",
        operation_id="prices_latest_symbol",
        description="`as_of` and `age_seconds` tell a fresh price from a stale one; "
        "`source` names the provider.",
        parameters=[SYMBOL_PARAMETER],
        responses={200: LatestPriceSerializer, 404: NOT_FOUND, **READ_ERRORS},
        examples=[OpenApiExample("BTC", value=LATEST_EXAMPLE, response_only=True)],
    )
    @action(detail=False, url_path=r"latest/(?P<symbol>[^/]+)")
    def latest_one(self, request: Request, symbol: str) -> HttpResponseBase:
        symbol = clean_symbol(symbol)
        prices, hit = latest_prices([symbol])
        if not prices:
            asset_id_for(symbol)  # 404 for an unknown asset
            raise NotFound(f"No price for {symbol} yet.")
        return caching.json_with_x_cache(
            dumps(latest_payload(prices[0], datetime.now(UTC))), hit=hit
        )

    @extend_schema(
        summary="OHLCV candles",
        operation_id="prices_candles",
        description="Candles opening in [start, end). An interval that is not stored "
        "is aggregated exactly from the coarsest stored interval dividing it (open "
        "first, high max, low min, close last, volume sum), from the candles that "
        "exist only: missing candles are listed in `gaps`, never invented. Page by "
        "time: follow `next` until it is null (CSV: the `Link` header). "
        "`?format=csv` or `Accept: text/csv` gives the same rows as CSV. Answers "
        "`If-None-Match` with 304.",
        parameters=[
            CandleQuerySerializer,
            SYMBOL_PARAMETER,
            OpenApiParameter(
                "format", str, OpenApiParameter.QUERY, enum=["json", "csv"]
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(CandlePageSerializer),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="open_time,close_time,open,high,low,close,volume,is_closed",
            ),
            304: OpenApiResponse(description="Not modified (If-None-Match)."),
            # Errors are JSON whatever format was asked for (JsonFirstMixin).
            (404, "application/json"): NOT_FOUND,
            **{(code, "application/json"): r for code, r in READ_ERRORS.items()},
        },
        examples=[OpenApiExample("1h", value=CANDLE_EXAMPLE, response_only=True)],
    )
    @action(
        detail=True,
        url_path="candles",
        renderer_classes=[OrjsonRenderer, CSVRenderer],
    )
    def candles(self, request: Request, symbol: str) -> HttpResponseBase:
        symbol = clean_symbol(symbol)
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = CandleWindow.from_query(symbol, query.validated_data)
        if request.accepted_renderer.format == "csv":
            return window.csv_response()
        return caching.cached_json(
            request, scope=symbol, key=window.cache_key(), build=window.json_body
        )


class CandleWindow:
    """One validated candle request: reads its page and renders it as JSON or CSV."""

    def __init__(
        self,
        *,
        symbol: str,
        interval: str,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        descending: bool,
    ) -> None:
        self.symbol, self.interval, self.limit = symbol, interval, limit
        self.start, self.end, self.descending = start, end, descending

    @classmethod
    def from_query(cls, symbol: str, params: dict[str, Any]) -> "CandleWindow":
        """From a valid `CandleQuerySerializer`'s data."""
        interval: str = params["interval"]
        # Buckets open on interval boundaries: align both bounds up, so aggregated
        # buckets are whole and `start`/`end` mean the same for stored and derived ones.
        start = params.get("start") and ceil_time(params["start"], interval)
        end = params.get("end") and ceil_time(params["end"], interval)
        return cls(
            symbol=symbol,
            interval=interval,
            start=start,
            end=end,
            limit=params["limit"],
            descending=params["order"] == "desc",
        )

    def cache_key(self) -> str:
        bounds = [iso_z(t) if t else "" for t in (self.start, self.end)]
        order = "desc" if self.descending else "asc"
        return f"candles:{self.symbol}:{self.interval}:{':'.join(bounds)}:{self.limit}:{order}"

    def _page(self) -> selectors.CandlePage:
        series = candle_series(self.symbol, self.interval)  # 404 for an unknown asset
        return selectors.candle_page(
            asset_id=series.asset_id,
            source=series.source,
            interval=self.interval,
            start=self.start,
            end=self.end,
            limit=self.limit,
            descending=self.descending,
        )

    def next_url(self, page: selectors.CandlePage) -> str | None:
        if not page.has_more:
            return None
        last = datetime.fromtimestamp(int(page.open_time[-1]), UTC)
        start, end = self.start, self.end
        if self.descending:
            end = last  # exclusive: the next page starts just before it
        else:
            start = next_open(last, self.interval)
        query = {
            "interval": self.interval,
            "limit": self.limit,
            "order": "desc" if self.descending else "asc",
        }
        if start:
            query["start"] = iso_z(start)
        if end:
            query["end"] = iso_z(end)
        return f"/api/v1/prices/{self.symbol}/candles/?{urlencode(query)}"

    def json_body(self) -> tuple[bytes, int]:
        page = self._page()
        now = datetime.now(UTC).timestamp()
        open_time = page.open_time
        close_time = close_times(open_time, self.interval)
        is_closed = close_time <= now
        # Oldest first for the gaps and the forming candles, whatever the order asked.
        ascending = slice(None, None, -1 if self.descending else 1)
        gaps = [
            {
                "start": datetime.fromtimestamp(s, UTC),
                "end": datetime.fromtimestamp(e, UTC),
            }
            for s, e in gaps_between(open_time[ascending], close_time[ascending])
        ]
        if self.descending:
            gaps.reverse()
        # A forming candle turns closed with time alone: keep the page only until then.
        ttl = settings.API_CACHE_TTL
        forming = close_time[~is_closed]
        if forming.size:
            ttl = min(ttl, int(forming.min() - now) + 1)
        results = records_json(
            {
                "open_time": open_time.astype("datetime64[s]"),
                "close_time": close_time.astype("datetime64[s]"),
                "open": page.open,
                "high": page.high,
                "low": page.low,
                "close": page.close,
                "volume": page.volume,
                "is_closed": is_closed,
            }
        )
        body = dumps(
            {
                "symbol": self.symbol,
                "interval": self.interval,
                "quote": settings.QUOTE_CURRENCY,
                "stored_interval": page.source.stored_interval if page.source else None,
                "order": "desc" if self.descending else "asc",
                "count": int(open_time.size),
                "next": self.next_url(page),
                "gaps": gaps,
                "results": results,
            }
        )
        return body, ttl

    def csv_response(self) -> StreamingHttpResponse:
        page = self._page()
        now = datetime.now(UTC)

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(
                [
                    "open_time",
                    "close_time",
                    "open",
                    "high",
                    "low",
                    "close",
                    "volume",
                    "is_closed",
                ]
            )
            columns = (page.open_time, page.open, page.high, page.low, page.close,
                       page.volume)  # fmt: skip
            rows = zip(*(c.tolist() for c in columns), strict=True)
            for n, (epoch, o, h, low, c, v) in enumerate(rows, 1):
                open_time = datetime.fromtimestamp(epoch, UTC)
                close_time = next_open(open_time, self.interval)
                writer.writerow(
                    [iso_z(open_time), iso_z(close_time), repr(o), repr(h), repr(low),
                     repr(c), repr(v), "true" if close_time <= now else "false"]
                )  # fmt: skip
                if n % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(
            lines(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'inline; filename="{self.symbol}_{self.interval}.csv"'
        )
        if url := self.next_url(page):
            response["Link"] = f'<{url}>; rel="next"'
        return response
