"""Admin for the sync pipeline: its runs, and the gaps it can backfill."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from prices.ingest.tasks import queue_sync
from prices.models import CandleGap, SyncJob, SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "status", "provider", "fallback_used", "queued_at",
                    "finished_at", "inserted", "updated", "rejected")  # fmt: skip
    list_filter = ("job", "status", "provider", "fallback_used")
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    ordering = ("-queued_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            False  # runs are recorded by the pipeline; queue one via POST /api/v1/sync/
        )


@admin.register(CandleGap)
class CandleGapAdmin(admin.ModelAdmin):
    list_display = ("asset", "interval", "start", "end", "missing", "detected_at")
    list_filter = ("interval", "asset")
    list_select_related = ("asset",)
    actions = ["backfill"]

    @admin.action(description="Backfill the selected gaps")
    def backfill(self, request: HttpRequest, queryset: QuerySet[CandleGap]) -> None:
        for gap in queryset.select_related("asset"):
            queue_sync(
                job=SyncJob.BACKFILL,
                params={"symbol": gap.asset.symbol, "interval": gap.interval,
                        "start": gap.start.isoformat(), "end": gap.end.isoformat()},
            )  # fmt: skip
        self.message_user(request, f"{queryset.count()} backfill run(s) queued.")
