from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from prices.models import Candle, CandleGap, MarketReport, SyncJob, SyncRun


@admin.register(Candle)
class CandleAdmin(admin.ModelAdmin):
    list_display = ("asset", "interval", "open_time", "open", "high", "low", "close",
                    "volume", "source")  # fmt: skip
    list_filter = ("interval", "source", "asset")
    search_fields = ("asset__symbol",)
    date_hierarchy = "open_time"
    list_select_related = ("asset",)
    ordering = ("-open_time",)
    # Millions of rows: skip the full COUNT(*) that the changelist would run per page.
    show_full_result_count = False
    raw_id_fields = ("asset",)


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
        from prices.sync import queue_sync

        for gap in queryset.select_related("asset"):
            queue_sync(
                job=SyncJob.BACKFILL,
                params={"symbol": gap.asset.symbol, "interval": gap.interval,
                        "start": gap.start.isoformat(), "end": gap.end.isoformat()},
            )  # fmt: skip
        self.message_user(request, f"{queryset.count()} backfill run(s) queued.")


@admin.register(MarketReport)
class MarketReportAdmin(admin.ModelAdmin):
    list_display = ("day", "created_at")
    readonly_fields = ("day", "created_at", "data")
