"""The lean path of the most-polled public reads, for anonymous plain GETs.

Latest prices (`/api/v1/prices/latest/[<symbol>/]`), candle pages
(`/api/v1/prices/<symbol>/candles/`), the asset list and one asset are answered by plain
Django views: the request is counted by the same `count_request` the DRF throttle uses
(a latest price, or a cached response where the cache shares the default Redis, is read
in that same round trip), then answered without DRF's dispatch (request wrapping,
negotiation, three authenticators, permissions). In the web server, latest prices come
from the process's mirror of them (`prices.latest_mirror`) and the count from the
process's batch (`throttles.start_batching`): no round trip. What the fast path does
not answer itself (a cache miss of the asset list, an error) is handed, already
counted, to the DRF view without its throttles.
Anything else (credentials, an Accept header other than JSON, `?format=`, HEAD,
OPTIONS) goes, uncounted, to the DRF views, which answer exactly as before; the schema
documents those views.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from rest_framework.exceptions import APIException, Throttled

from assets.models import Asset
from assets.symbols import symbol_error
from assets.views import AssetViewSet
from marketpulse.api import caching
from marketpulse.api.errors import envelope
from marketpulse.api.renderers import dumps
from marketpulse.api.throttles import (
    AnonThrottle,
    Counted,
    Read,
    count_request,
    rate_limit_headers,
)
from marketpulse.errors import MarketPulseError
from prices.latest import (
    latest_list_reads,
    latest_price_read,
    latest_prices,
    parse_latest_list,
    parse_latest_price,
)
from prices.latest_mirror import MIRROR
from prices.serializers import CandleQuerySerializer, read_candle_query
from prices.views import CandleWindow, PriceViewSet, latest_payload

DrfView = Callable[..., HttpResponseBase]


def _drf(action: str, *, detail: bool, counted: bool = True) -> DrfView:
    """The DRF view of `action` (PriceViewSet's or AssetViewSet's), as the router
    makes it; `counted=False`: without its throttles, for a request counted here."""
    viewset, basename = (
        (AssetViewSet, "asset")
        if action in ("list", "retrieve")
        else (PriceViewSet, "prices")
    )
    # An @action's own options (the candles' renderers), as the router passes them.
    extra = dict(getattr(getattr(viewset, action), "kwargs", {}))
    if not counted:
        extra["throttle_classes"] = ()
    return viewset.as_view({"get": action}, basename=basename, detail=detail, **extra)


_drf_latest = _drf("latest", detail=False)
_drf_latest_one = _drf("latest_one", detail=False)
_drf_candles = _drf("candles", detail=True)
_drf_candles_uncounted = _drf("candles", detail=True, counted=False)
_drf_assets = _drf("list", detail=False)
_drf_assets_uncounted = _drf("list", detail=False, counted=False)
_drf_asset = _drf("retrieve", detail=True)
_drf_asset_uncounted = _drf("retrieve", detail=True, counted=False)
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


def _lean(request: HttpRequest, *, query: bool = False) -> bool:
    meta = request.META
    return (
        request.method == "GET"
        and (query or not meta.get("QUERY_STRING"))
        and "HTTP_AUTHORIZATION" not in meta
        and "HTTP_X_API_KEY" not in meta
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        # DRF's test client signs a request in without credentials (force_authenticate).
        and getattr(request, "_force_auth_user", None) is None
        and meta.get("HTTP_ACCEPT", "") in _JSON_ACCEPTS
        and "format" not in request.GET
    )


def _count(request: HttpRequest, reads: list[Read]) -> Counted:
    throttle = AnonThrottle()  # its rate, as the DRF view would apply it
    return count_request(
        f"anon:{throttle.get_ident(request)}",  # type: ignore[arg-type]  # reads META only
        limit=throttle.num_requests,
        duration=throttle.duration,
        reads=reads,
        batched=True,
    )


def _answer(response: HttpResponseBase, counted: Counted) -> HttpResponseBase:
    if counted.state is not None:
        rate_limit_headers(response, counted.state)
    return response


def _throttled(counted: Counted) -> HttpResponseBase:
    assert counted.state is not None
    wait = counted.state.reset
    message = str(Throttled(wait=wait).detail)  # DRF's words, as its views say them
    response = JsonResponse(
        envelope("throttled", message, {"retry_after": wait}), status=429
    )
    response["Retry-After"] = str(wait)
    return _answer(response, counted)


def latest_one(request: HttpRequest, symbol: str) -> HttpResponseBase:
    if not _lean(request) or symbol_error(symbol):
        return _drf_latest_one(request, symbol=symbol)
    symbol = symbol.upper()
    held = MIRROR.price(symbol)  # with batched counting: no round trip at all
    counted = _count(request, [] if held else [latest_price_read(symbol)])
    if not counted.allowed:
        return _throttled(counted)
    price = held or parse_latest_price(counted.replies[0])
    hit = price is not None
    if price is None:
        prices, hit = latest_prices([symbol])
        price = prices[0] if prices else None
    if price is None:
        known = Asset.objects.filter(symbol=symbol).exists()
        message = (
            f"No price for {symbol} yet."
            if known
            else f"No asset with symbol {symbol}."
        )
        return _answer(
            JsonResponse(envelope("not_found", message), status=404), counted
        )
    body = dumps(latest_payload(price, datetime.now(UTC)))
    return _answer(caching.json_with_x_cache(body, hit=hit), counted)


def latest(request: HttpRequest) -> HttpResponseBase:
    if not _lean(request):
        return _drf_latest(request)
    every = MIRROR.every()
    counted = _count(request, [] if every is not None else latest_list_reads())
    if not counted.allowed:
        return _throttled(counted)
    if every is None:
        every = parse_latest_list(counted.replies)
    prices, hit = (every, True) if every is not None else latest_prices(None)
    now = datetime.now(UTC)
    body = {"count": len(prices), "results": [latest_payload(p, now) for p in prices],
            "missing": []}  # fmt: skip
    response: HttpResponse = caching.json_with_x_cache(dumps(body), hit=hit)
    return _answer(response, counted)


def candles(request: HttpRequest, symbol: str) -> HttpResponseBase:
    if not _lean(request, query=True) or symbol_error(symbol):
        return _drf_candles(request, symbol=symbol)
    # Validated before it is counted (DRF counts first): the cache entry's key comes
    # from the query, and its read rides on the count. A refused client still gets
    # its 429 whatever it asked.
    params = read_candle_query(request.GET)
    if params is None:  # unusual, or wrong: the serializer judges
        query = CandleQuerySerializer(data=request.GET)
        params = query.validated_data if query.is_valid() else None
    window = CandleWindow.from_query(symbol.upper(), params) if params else None
    probe = (
        caching.Probe.of(scope=window.symbol, key=window.cache_key())
        if window is not None
        else None
    )
    read = probe.read() if probe else None
    counted = _count(request, [read] if read else [])
    if not counted.allowed:
        return _throttled(counted)
    response: HttpResponseBase | None = None
    if window is not None:
        try:
            assert probe is not None  # made with the window
            response = caching.cached_json(
                request,
                scope=probe.scope,
                key=probe.key,
                build=window.json_body,
                probe=probe,
                replied=counted.replies[0] if read else None,
            )
        except (APIException, MarketPulseError):  # DRF's exception handler words it
            response = None
    if response is None:  # a 400 or a 404: the DRF view says it, already counted
        response = _drf_candles_uncounted(request, symbol=symbol)
    return _answer(response, counted)


def _cached_or(
    request: HttpRequest, *, scope: str, key: str, drf: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """A cache hit answered here; anything else by the (uncounted) DRF view."""
    probe = caching.Probe.of(scope=scope, key=key)
    read = probe.read()
    counted = _count(request, [read] if read else [])
    if not counted.allowed:
        return _throttled(counted)
    cached, _ = probe.answer(counted.replies[0] if read else None)
    if cached is not None:
        response = caching.json_response(
            request, cached.body, etag=cached.etag, hit=True
        )
    else:
        response = drf()
    return _answer(response, counted)


def assets(request: HttpRequest) -> HttpResponseBase:
    if not _lean(request, query=True):
        return _drf_assets(request)
    # An entry exists only for a query the DRF view validated and answered.
    return _cached_or(
        request,
        scope=caching.LISTING,
        key=AssetViewSet.list_cache_key(request),
        drf=lambda: _drf_assets_uncounted(request),
    )


def asset(request: HttpRequest, symbol: str) -> HttpResponseBase:
    if not _lean(request) or symbol_error(symbol):
        return _drf_asset(request, symbol=symbol)
    symbol = symbol.upper()
    return _cached_or(
        request,
        scope=symbol,
        key=AssetViewSet.detail_cache_key(symbol),
        drf=lambda: _drf_asset_uncounted(request, symbol=symbol),
    )
