"""Sync runs over HTTP: `GET /api/v1/sync-runs/` and `POST /api/v1/sync/` (operators)."""

from datetime import UTC
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
