"""Portfolio routes: thin viewsets over `services` (writes) and `selectors` (reads).

Everything is scoped to the signed-in owner: another user's portfolio or trade is a 404,
whatever the route, so its existence is not revealed.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from marketpulse.api.idempotency import HEADER, KEY_PATTERN, IdempotentCreateMixin
from portfolio import selectors, services
from portfolio.models import Portfolio, Trade
from portfolio.performance import performance_for
from portfolio.serializers import (
    PerformanceQuerySerializer,
    PerformanceSerializer,
    PnlSerializer,
    PortfolioSerializer,
    PositionSerializer,
    TradeSerializer,
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=KEY_PATTERN,
    description="Retrying a POST with the same key returns the first result "
    "(header `Idempotent-Replayed: true`) instead of writing twice.",
)


class PortfolioViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    serializer_class = PortfolioSerializer
    permission_classes = [IsAuthenticated]
    queryset = (
        Portfolio.objects.none()
    )  # for the schema; get_queryset scopes to the user

    def get_queryset(self) -> Any:
        return selectors.portfolios_for(user=self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_PARAMETER])
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Portfolio]) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_portfolio(
            owner=self.request.user,
            name=data["name"],
            base_currency=data.get("base_currency", services.allowed_currencies()[0]),
            cost_basis_method=data.get("cost_basis_method", "fifo"),
        )

    def perform_update(self, serializer: BaseSerializer[Portfolio]) -> None:
        assert serializer.instance is not None  # an update has its object
        serializer.instance = services.update_portfolio(
            portfolio=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Portfolio) -> None:
        services.delete_portfolio(portfolio=instance)

    @extend_schema(responses=PositionSerializer(many=True))
    @action(detail=True, pagination_class=None, filter_backends=[])
    def positions(self, request: Request, pk: str) -> Response:
        """Open positions at the latest prices, with cost basis, unrealized P&L and
        allocation."""
        rows = selectors.positions_for(portfolio=self.get_object())
        return Response(PositionSerializer(rows, many=True).data)

    @extend_schema(responses=PnlSerializer)
    @action(detail=True, filter_backends=[])
    def pnl(self, request: Request, pk: str) -> Response:
        """Realized (by the portfolio's method), unrealized, fees and total P&L."""
        return Response(
            PnlSerializer(selectors.pnl_for(portfolio=self.get_object())).data
        )

    @extend_schema(
        parameters=[PerformanceQuerySerializer], responses=PerformanceSerializer
    )
    @action(detail=True, filter_backends=[])
    def performance(self, request: Request, pk: str) -> Response:
        """Portfolio value at each interval close from the stored candles, and the
        time-weighted return (trades are cash flows, not performance)."""
        portfolio = self.get_object()
        query = PerformanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = performance_for(
            portfolio=portfolio,
            interval=query.validated_data["interval"],
            start=query.validated_data.get("start"),
            end=query.validated_data.get("end"),
        )
        return Response(PerformanceSerializer(result).data)


class TradeViewSet(IdempotentCreateMixin, viewsets.ModelViewSet):
    """Buys and sells of one portfolio, oldest first. Editing or deleting a trade
    recomputes every figure after it; one that would make a later sell an oversell is 409."""

    serializer_class = TradeSerializer
    permission_classes = [IsAuthenticated]
    queryset = Trade.objects.none()  # for the schema; get_queryset scopes to the user

    def portfolio(self) -> Portfolio:
        return selectors.portfolio_for(
            user=self.request.user, pk=self.kwargs["portfolio_pk"]
        )

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Trade.objects.none()
        return selectors.trades_for(portfolio=self.portfolio())

    @extend_schema(parameters=[IDEMPOTENCY_PARAMETER])
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Trade]) -> None:
        serializer.instance = services.record_trade(
            portfolio=self.portfolio(), **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Trade]) -> None:
        assert serializer.instance is not None  # an update has its object
        serializer.instance = services.update_trade(
            trade=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Any) -> None:
        services.delete_trade(trade=instance)
