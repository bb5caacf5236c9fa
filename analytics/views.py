"""Analytics endpoints: thin views over `analytics.indicators` (and friends)."""

import functools
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from analytics import indicators, overview
from analytics.filters import AnomalyFilter
from analytics.indicators.catalogue import FRIENDLY_PARAMETERS, catalogue
from analytics.models import Anomaly
from analytics.serializers import (
    AnomalySerializer,
    CatalogueSerializer,
    IndicatorQuerySerializer,
    IndicatorResultSerializer,
    MarketOverviewSerializer,
    MarketQuerySerializer,
)
from assets.schema import SYMBOL_PARAMETER
from assets.symbols import symbol_error
from marketpulse.api import caching
from marketpulse.api.pagination import StrictCursorPagination
from marketpulse.api.renderers import OrjsonRenderer, dumps
from marketpulse.api.schema import NOT_FOUND, READ_ERRORS
from prices import selectors

# Query keys read by the serializer (and DRF's format override), not indicator settings.
FIXED_KEYS = frozenset({"interval", "indicators", "start", "end", "format"})

INDICATORS_DESCRIPTION = f"""
Indicators over the exact candles the history API serves for `interval`, one row per
candle opening in [start, end) (start inclusive, end exclusive, both aligned up to the
interval), with only the outputs asked for. Computed by TA-Lib (VWAP: cumulative from the
range start, typical price weighted by volume).

**Parameters** per indicator, either friendly (`rsi_period=14`, `macd_fast=12`,
`macd_slow=26`, `macd_signal=9`, `bbands_period=20`, `bbands_std=2` (both bands),
`sma_period`, `ema_period`, `atr_period`) or generic, for any catalogue function:
`<indicator>.<parameter>=value`, e.g. `stoch.fastk_period=5`, `bbands.matype=1`.
Names, types, defaults and TA-Lib's valid ranges are in the catalogue.

**Several instances** of one indicator: label the others, `indicators=sma,sma:slow`,
and set theirs as `sma:slow.timeperiod=200` (or `sma_period:slow=200`). A labelled
instance's outputs, `parameters` and `warmup` are named with its label (`sma:slow`,
`bb_upper:wide`); a label is 1 to 20 of a-z, 0-9 and `_`.

**Warm-up**: each indicator reads the candles before `start` it needs: TA-Lib's
lookback, plus {indicators.CONVERGENCE} x its longest period for recursive ones
(EMA, Wilder smoothing, adaptive averages; {indicators.RECURSIVE_BASE} when they have no
period), so values from `start` equal a computation over the whole history to 1e-6
relative. Cumulative ones (OBV, A/D, VWAP, ...) start at the range start. With too little
stored history the leading values are null: `warmup.<name>.null_rows` and `reason` say
how many and why.

**Gaps**: missing candles are not invented; an indicator runs over the candles that
exist (its period counts candles), and `gaps` lists the holes of the range.

**Limits**: at most {indicators.MAX_INDICATORS} indicators, {indicators.MAX_ROWS}
candles in the range, {indicators.MAX_WARMUP} warm-up candles per indicator; otherwise
400 naming the field. Cached until a new candle for the asset arrives (`X-Cache`).
"""

EXAMPLE = {
    "symbol": "BTC",
    "interval": "1d",
    "quote": "USD",
    "start": "2019-10-01T00:00:00Z",
    "end": "2019-10-02T00:00:00Z",
    "stored_interval": "1d",
    "count": 1,
    "parameters": {"rsi": {"timeperiod": 14}},
    "warmup": {
        "rsi": {
            "lookback": 14,
            "warmup": 434,
            "available": 434,
            "anchored_at_start": False,
            "converged": True,
            "null_rows": 0,
            "reason": None,
        }
    },
    "gaps": [],
    "results": [{"open_time": "2019-10-01T00:00:00Z", "rsi": 41.73}],
}


@functools.cache
def catalogue_json() -> bytes:
    return dumps(indicators.catalogue_body())


def friendly_parameter(key: str) -> OpenApiParameter:
    """A friendly parameter with the TA-Lib range of what it sets, in the schema."""
    name, params = FRIENDLY_PARAMETERS[key]
    first = catalogue()[name].parameters[params[0]]
    schema: dict[str, Any] = {"type": "number" if first.type == "real" else "integer"}
    if first.minimum is not None:
        schema["minimum"] = first.minimum
    if first.maximum is not None:
        schema["maximum"] = first.maximum
    return OpenApiParameter(
        key,
        schema,
        OpenApiParameter.QUERY,
        description=f"Sets {', '.join(f'{name}.{p}' for p in params)}; only with "
        f"`{name}` among the indicators.",
    )


class IndicatorViewSet(viewsets.ViewSet):
    """The TA-Lib catalogue, and indicators of one asset over a time range."""

    renderer_classes = [OrjsonRenderer]
    lookup_field = "symbol"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        summary="Indicator catalogue",
        operation_id="analytics_indicators_catalogue",
        description="Every indicator offered, generated from TA-Lib's function "
        "metadata: group, inputs, parameters (type, default, valid range), outputs, "
        "and how much history it needs (`warmup`).",
        responses={200: CatalogueSerializer, **READ_ERRORS},
    )
    def list(self, request: Request) -> HttpResponseBase:
        return HttpResponse(catalogue_json(), content_type="application/json")

    @extend_schema(
        summary="Indicators of one asset",
        operation_id="analytics_indicators",
        description=INDICATORS_DESCRIPTION,
        parameters=[
            IndicatorQuerySerializer,
            SYMBOL_PARAMETER,
            *(friendly_parameter(key) for key in FRIENDLY_PARAMETERS),
        ],
        responses={200: IndicatorResultSerializer, 404: NOT_FOUND, **READ_ERRORS},
        examples=[OpenApiExample("rsi", value=EXAMPLE, response_only=True)],
    )
    def retrieve(self, request: Request, symbol: str) -> HttpResponseBase:
        if problem := symbol_error(symbol):
            raise ValidationError({"symbol": [problem]})
        symbol = symbol.upper()
        query = IndicatorQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        calls = indicators.parse_calls(
            indicators=params["indicators"],
            query={
                k: str(v)
                for k, v in request.query_params.items()
                if k not in FIXED_KEYS
            },
        )
        window = indicators.make_window(
            symbol=symbol,
            interval=params["interval"],
            start=params.get("start"),
            end=params.get("end"),
            calls=calls,
        )

        def build() -> tuple[bytes, int]:
            series = selectors.candle_series(symbol=symbol, interval=window.interval)
            if series is None:
                raise NotFound(f"No asset with symbol {symbol}.")
            computed = indicators.indicator_columns(series=series, window=window)
            body = indicators.response_body(window, computed)
            return dumps(body), indicators.ttl_for(computed.open_time, window.interval)

        return caching.cached_json(
            request, scope=symbol, key=window.cache_key(), build=build
        )


class MarketViewSet(viewsets.ViewSet):
    """The market overview of the tracked assets."""

    renderer_classes = [OrjsonRenderer]

    @extend_schema(
        summary="Market overview",
        operation_id="analytics_market",
        description="Total market cap and 24h volume of the tracked assets, dominance "
        "of the top assets, top gainers and losers (24h), breadth, a daily trend of "
        "total cap (stored 1d candles x circulating supply, where supply is known) and "
        "the sync pipeline's latest daily market report. Every figure carries `as_of` "
        "and `source`; an asset without a figure is listed under `missing`, not "
        "counted as zero. Cached; syncs (new prices, listings, reports) invalidate.",
        parameters=[MarketQuerySerializer],
        responses={200: MarketOverviewSerializer, **READ_ERRORS},
    )
    def list(self, request: Request) -> HttpResponseBase:
        query = MarketQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        top, days = query.validated_data["top"], query.validated_data["trend_days"]

        def build() -> tuple[bytes, int]:
            body = overview.market_overview(top=top, trend_days=days)
            return dumps(body), settings.API_CACHE_TTL

        return caching.cached_json(
            request,
            scope=caching.LISTING,
            key=f"analytics:market:{top}:{days}",
            build=build,
        )


class AnomalyCursor(StrictCursorPagination):
    ordering = ("-time", "-id")


@extend_schema_view(
    list=extend_schema(
        summary="Anomalies",
        description="Unusual returns, intraday moves and volume (robust rolling "
        "z-scores over 1h, 24h, 7d and 30d windows, where the interval fits) and "
        "provider disagreements, newest first; cursor-paged (follow `next`). Filter "
        "by `symbol`, `kind` and `since`.",
        responses={200: AnomalySerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One anomaly",
        responses={200: AnomalySerializer, 404: NOT_FOUND, **READ_ERRORS},
    ),
)
class AnomalyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AnomalySerializer
    pagination_class = AnomalyCursor
    filter_backends = [DjangoFilterBackend]
    filterset_class = AnomalyFilter
    renderer_classes = [OrjsonRenderer]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Anomaly.objects.select_related("asset")
