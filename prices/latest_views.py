"""The lean path of the most-polled reads: latest prices for anonymous clients.

`GET /api/v1/prices/latest/` and `/api/v1/prices/latest/<symbol>/` answered by plain
Django views: one Redis round trip counts the request (the same `count_request` the DRF
throttle uses) and reads the price, no DRF dispatch (request wrapping, negotiation,
three authenticators, permissions) around it. Anything else (credentials, a query, an
Accept header other than JSON, a malformed symbol, HEAD/OPTIONS) is handed, uncounted,
to the DRF views, which answer exactly as before; the schema documents those views.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from rest_framework.exceptions import Throttled

from assets.models import Asset
from assets.symbols import symbol_error
from marketpulse.api import caching
from marketpulse.api.errors import envelope
from marketpulse.api.renderers import dumps
from marketpulse.api.throttles import (
    AnonThrottle,
    Counted,
    count_request,
    rate_limit_headers,
)
from prices.latest import latest_price_read, latest_prices, parse_latest_price
from prices.views import PriceViewSet, latest_payload

_drf_latest = PriceViewSet.as_view({"get": "latest"}, basename="prices", detail=False)
_drf_latest_one = PriceViewSet.as_view(
    {"get": "latest_one"}, basename="prices", detail=False
)
_JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


def _lean(request: HttpRequest) -> bool:
    meta = request.META
    return (
        request.method == "GET"
        and not meta.get("QUERY_STRING")
        and "HTTP_AUTHORIZATION" not in meta
        and "HTTP_X_API_KEY" not in meta
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and meta.get("HTTP_ACCEPT", "") in _JSON_ACCEPTS
    )


def _count(request: HttpRequest, reads: list[tuple[str, tuple]]) -> Counted:
    throttle = AnonThrottle()  # its rate, as the DRF view would apply it
    return count_request(
        f"anon:{throttle.get_ident(request)}",  # type: ignore[arg-type]  # reads META only
        limit=throttle.num_requests,
        duration=throttle.duration,
        reads=reads,
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
    counted = _count(request, [latest_price_read(symbol)])
    if not counted.allowed:
        return _throttled(counted)
    price = parse_latest_price(counted.replies[0])
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
    counted = _count(request, [])
    if not counted.allowed:
        return _throttled(counted)
    prices, hit = latest_prices(None)
    now = datetime.now(UTC)
    body = {"count": len(prices), "results": [latest_payload(p, now) for p in prices],
            "missing": []}  # fmt: skip
    response: HttpResponse = caching.json_with_x_cache(dumps(body), hit=hit)
    return _answer(response, counted)
