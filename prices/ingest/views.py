"""Sync runs over HTTP: `GET /api/v1/sync-runs/` and `POST /api/v1/sync/`, and manual
prices, `POST /api/v1/prices/manual/` (operators)."""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters
from auditlog.models import LogEntry
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from assets.models import Asset
from marketpulse.accounts.permissions import IsOperator
from marketpulse.api.params import NoEmptyParametersForm
from prices.ingest.manual import record_manual_price
from prices.ingest.tasks import queue_sync
from prices.intervals import Interval
from prices.models import SyncJob, SyncRun
from prices.serializers import AwareDateTimeField


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id", "job", "params", "status", "provider", "providers_tried",
            "fallback_used", "queued_at", "started_at", "finished_at", "inserted",
            "updated", "rejected", "rejected_reasons", "details", "error",
        ]  # fmt: skip
        read_only_fields = fields


class SyncRequestSerializer(serializers.Serializer):
    job = serializers.ChoiceField(choices=SyncJob.choices)
    limit = serializers.IntegerField(min_value=1, max_value=250, required=False)
    symbol = serializers.CharField(max_length=20, required=False)
    interval = serializers.ChoiceField(choices=Interval.choices, required=False)
    hours = serializers.IntegerField(min_value=1, max_value=24 * 31, required=False)
    start = AwareDateTimeField(required=False)
    end = AwareDateTimeField(required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["job"] == SyncJob.BACKFILL:
            missing = [
                f for f in ("symbol", "interval", "start", "end") if f not in data
            ]
            if missing:
                raise serializers.ValidationError(
                    {f: ["Required for a backfill."] for f in missing}
                )
            if data["start"] >= data["end"]:
                raise serializers.ValidationError({"end": ["Must be after start."]})
            data["symbol"] = data["symbol"].upper()
            if not Asset.objects.filter(symbol=data["symbol"]).exists():
                raise serializers.ValidationError({"symbol": ["Unknown asset."]})
        return data

    def to_params(self) -> dict[str, Any]:
        params = {k: v for k, v in self.validated_data.items() if k != "job"}
        for key in ("start", "end"):
            if key in params:
                params[key] = params[key].astimezone(UTC).isoformat()
        return params


class SyncRunFilter(django_filters.FilterSet):
    class Meta:
        model = SyncRun
        fields = ["job", "status", "provider", "fallback_used"]
        form = NoEmptyParametersForm


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Recorded sync runs, newest first (operators only)."""

    queryset = SyncRun.objects.all()
    serializer_class = SyncRunSerializer
    permission_classes = [IsOperator]
    filterset_class = SyncRunFilter


class SyncViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Queues a sync run; answers 202 with the run (operators only)."""

    serializer_class = SyncRequestSerializer
    permission_classes = [IsOperator]

    @extend_schema(request=SyncRequestSerializer, responses={202: SyncRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = SyncRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        with transaction.atomic():
            run = queue_sync(
                job=incoming.validated_data["job"], params=incoming.to_params()
            )
            # A sync triggered by someone: scheduled runs and the worker's progress
            # updates are not audited (SyncRun is not registered), this is.
            LogEntry.objects.log_create(
                run,
                force_log=True,
                action=LogEntry.Action.CREATE,
                changes={"job": [None, run.job], "params": [None, run.params]},
            )
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ManualPriceSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=20)
    price = serializers.FloatField(min_value=0)
    as_of = AwareDateTimeField(
        required=False, help_text="When the price held (default: now); not the future."
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_symbol(self, value: str) -> Asset:
        asset = Asset.objects.filter(symbol=value.upper()).first()
        if asset is None:
            raise serializers.ValidationError("Unknown asset.")
        return asset

    def validate_price(self, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise serializers.ValidationError("Must be a finite positive number.")
        return value

    def validate_as_of(self, value: datetime) -> datetime:
        if value > datetime.now(UTC) + timedelta(seconds=60):
            raise serializers.ValidationError("May not be in the future.")
        return value


class ManualPriceResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    symbol = serializers.CharField()
    price = serializers.FloatField()
    as_of = serializers.DateTimeField()
    source = serializers.CharField()  # type: ignore[assignment]
    applied = serializers.BooleanField(
        help_text="False: a newer price was already stored; recorded, not published."
    )
    alerts_fired = serializers.IntegerField()


class ManualPriceViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Records an operator's price for an asset: stored and published like a
    provider's, with source "manual" (latest price, forming candles, live stream,
    alerts). Operators only."""

    serializer_class = ManualPriceSerializer
    permission_classes = [IsOperator]

    @extend_schema(responses={201: ManualPriceResultSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = ManualPriceSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        recorded = record_manual_price(
            asset=data["symbol"],
            price=data["price"],
            as_of=data.get("as_of") or datetime.now(UTC),
            user=request.user,  # type: ignore[arg-type]  # an operator
            note=data.get("note", ""),
        )
        manual = recorded.manual
        body = {
            "id": manual.pk, "symbol": manual.asset.symbol, "price": manual.price,
            "as_of": manual.as_of, "source": "manual", "applied": manual.applied,
            "alerts_fired": recorded.alerts_fired,
        }  # fmt: skip
        return Response(
            ManualPriceResultSerializer(body).data, status=status.HTTP_201_CREATED
        )
