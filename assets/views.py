"""Asset listings: filtered, ordered and paged lists, one asset, top lists; all cached."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from assets import selectors
from assets.filters import AssetFilter
from assets.models import Asset
from assets.schema import SYMBOL_PARAMETER
from assets.serializers import AssetSerializer
from assets.symbols import clean_symbol
from marketpulse.api import caching
from marketpulse.api.negotiation import JsonFirstMixin, refuse_unknown_params
from marketpulse.api.pagination import LimitOffsetPage
from marketpulse.api.params import QuerySerializer
from marketpulse.api.renderers import OrjsonRenderer, dumps
from marketpulse.api.schema import NOT_FOUND, READ_ERRORS, error

# The listing's query parameters: its filters and the page.
LIST_PARAMS = frozenset(AssetFilter.base_filters) | {"limit", "offset"}


class TopQuerySerializer(QuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)


@extend_schema_view(
    list=extend_schema(
        summary="Asset listings",
        description="Filter, order and page (limit at most "
        f"{LimitOffsetPage.max_limit}). Cached; new prices invalidate.",
        responses={200: AssetSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One asset",
        description="Symbol case-insensitive; latest price and 24h figures.",
        parameters=[SYMBOL_PARAMETER],
        responses={200: AssetSerializer, 404: NOT_FOUND, **READ_ERRORS},
    ),
)
class AssetViewSet(JsonFirstMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssetSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AssetFilter
    pagination_class = LimitOffsetPage
    renderer_classes = [OrjsonRenderer]
    lookup_field = "symbol"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.asset_list()

    def get_object(self) -> Asset:
        symbol = clean_symbol(self.kwargs["symbol"])
        asset = selectors.asset_by_symbol(symbol=symbol)
        if asset is None:
            raise NotFound(f"No asset with symbol {symbol}.")
        return asset

    @staticmethod
    def list_cache_key(request: HttpRequest) -> str:
        query = urlencode(sorted(request.GET.lists()), doseq=True)
        # `next`/`previous` are absolute URLs: the host is part of the response.
        return f"assets:{request.get_host()}:{query}"

    @staticmethod
    def detail_cache_key(symbol: str) -> str:
        return f"asset:{symbol}"

    # Cached, pre-encoded JSON rather than a DRF Response (the schema still documents it).
    def list(  # type: ignore[override]
        self, request: Request, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        refuse_unknown_params(request, LIST_PARAMS)
        key = self.list_cache_key(request)

        def build() -> tuple[bytes, int]:
            response = super(AssetViewSet, self).list(request, *args, **kwargs)
            return dumps(response.data), settings.API_CACHE_TTL

        return caching.cached_json(request, scope=caching.LISTING, key=key, build=build)

    def retrieve(  # type: ignore[override]
        self, request: Request, *args: object, **kwargs: object
    ) -> HttpResponseBase:
        symbol = clean_symbol(self.kwargs["symbol"])

        def build() -> tuple[bytes, int]:
            return dumps(self.get_serializer(self.get_object()).data), (
                settings.API_CACHE_TTL
            )

        return caching.cached_json(
            request, scope=symbol, key=self.detail_cache_key(symbol), build=build
        )

    @extend_schema(
        summary="Top assets",
        description="By market cap, 24h volume, or 24h change (gainers: highest "
        "first; losers: lowest first). Assets without the figure are left out.",
        parameters=[
            TopQuerySerializer,
            OpenApiParameter(
                "category",
                str,
                OpenApiParameter.PATH,
                enum=[*selectors.TOP_CATEGORIES],
            ),
        ],
        responses={
            200: AssetSerializer(many=True),
            404: error("Unknown category.", "not_found", "No route for ..."),
            **READ_ERRORS,
        },
    )
    @action(
        detail=False,
        url_path=r"top/(?P<category>market_cap|volume|gainers|losers)",
        filter_backends=[],
        pagination_class=None,
    )
    def top(self, request: Request, category: str) -> HttpResponseBase:
        query = TopQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]

        def build() -> tuple[bytes, int]:
            assets = selectors.top_assets(category=category, limit=limit)
            return dumps(AssetSerializer(assets, many=True).data), (
                settings.API_CACHE_TTL
            )

        return caching.cached_json(
            request,
            scope=caching.LISTING,
            key=f"top:{category}:{limit}",
            build=build,
        )
