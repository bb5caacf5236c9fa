"""Alert routes: thin viewsets over `services` (writes); everything scoped to the owner,
so another user's alert, event or webhook is a 404 whatever the route."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from analytics.alerts import services
from analytics.alerts.models import Alert, AlertEvent, WebhookDelivery, WebhookEndpoint
from analytics.alerts.serializers import (
    AlertEventSerializer,
    AlertSerializer,
    DeliverySerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)
from marketpulse.api.pagination import StrictCursorPagination


class NewestFirst(StrictCursorPagination):
    ordering = ("-id",)


def _owner(request: Request) -> int:
    return int(request.user.pk or 0)  # behind IsAuthenticated: always a user


class AlertViewSet(viewsets.ModelViewSet):
    """Price, % move, indicator and anomaly alerts. An alert fires once when its
    condition becomes true, then re-arms when the condition has been false again
    (beyond `hysteresis`) or after `cooldown` seconds; one already true when saved
    starts disarmed and fires on the next crossing."""

    serializer_class = AlertSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]  # rules hold lists, objects and nulls: JSON only
    lookup_value_regex = r"\d+"
    queryset = Alert.objects.none()  # for the schema; get_queryset scopes to the user

    def get_queryset(self) -> QuerySet[Alert]:
        return Alert.objects.filter(user_id=_owner(self.request)).select_related(
            "asset"
        )

    def perform_create(self, serializer: BaseSerializer[Alert]) -> None:
        fields = dict(serializer.validated_data)
        serializer.instance = services.create_alert(
            user=self.request.user,  # type: ignore[arg-type]  # IsAuthenticated
            asset=fields.pop("asset"),
            fields=fields,
        )

    def perform_update(self, serializer: BaseSerializer[Alert]) -> None:
        assert serializer.instance is not None  # an update has its object
        serializer.instance = services.update_alert(
            alert=serializer.instance, fields=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: Alert) -> None:
        services.delete_alert(alert=instance)


@extend_schema(
    parameters=[
        OpenApiParameter("alert", OpenApiTypes.INT, description="One alert's events.")
    ]
)
class AlertEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The owner's firings, newest first (cursor-paged: follow `next`)."""

    serializer_class = AlertEventSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = NewestFirst
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    queryset = AlertEvent.objects.none()

    def get_queryset(self) -> QuerySet[AlertEvent]:
        events = AlertEvent.objects.filter(user_id=_owner(self.request))
        alert = self.request.query_params.get("alert")
        if alert is not None:
            try:
                alert_id = int(alert)
            except ValueError:
                raise ValidationError({"alert": ["An alert id."]}) from None
            # An id no alert can have (beyond bigint) matches nothing, as a wrong one.
            events = (
                events.filter(alert_id=alert_id)
                if 0 < alert_id < 2**63
                else events.none()
            )
        deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("id")
        return events.prefetch_related(Prefetch("webhook_deliveries", deliveries))


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your webhook endpoints. Each alert event (of alerts with the `webhook` channel)
    is POSTed as JSON to each enabled endpoint, signed: header
    `MarketPulse-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
    secret is shown once, at creation (and by `rotate-secret`). An endpoint failing
    ALERT_WEBHOOK_DISABLE_AFTER attempts in a row is disabled, with the reason."""

    serializer_class = WebhookSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    lookup_value_regex = r"\d+"
    queryset = WebhookEndpoint.objects.none()

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.filter(user_id=_owner(self.request))

    @extend_schema(responses={201: WebhookWithSecretSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.create_webhook(
            user=request.user,  # type: ignore[arg-type]  # IsAuthenticated
            url=serializer.validated_data["url"],
        )
        return Response(
            WebhookWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    def perform_update(self, serializer: BaseSerializer[WebhookEndpoint]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_webhook(
            endpoint=serializer.instance, fields=dict(serializer.validated_data)
        )

    @extend_schema(request=None, responses=WebhookWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = services.rotate_secret(endpoint=self.get_object())
        return Response(WebhookWithSecretSerializer(endpoint).data)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, pagination_class=NewestFirst, filter_backends=[])
    def deliveries(self, request: Request, pk: str) -> Response:
        """Each delivery to this endpoint: attempts, the last status code or error."""
        rows = WebhookDelivery.objects.filter(
            endpoint=self.get_object()
        ).select_related("endpoint")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
