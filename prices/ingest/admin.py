"""Admin for the sync pipeline: its runs, and the gaps it can backfill."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from prices.ingest.manual import record_manual_price
from prices.ingest.tasks import queue_sync
from prices.models import CandleGap, ManualPrice, SyncJob, SyncRun


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


# The beat schedule: django-celery-beat's admin, with its bulk actions saving each task
# (its own use `queryset.update()`, which no model signal sees, so the audit log missed
# schedules enabled or disabled from the list).
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class AuditedPeriodicTaskAdmin(PeriodicTaskAdmin):
    def _set_enabled(
        self, request: HttpRequest, tasks: QuerySet[PeriodicTask], enabled: bool | None
    ) -> None:
        count = 0
        for task in tasks:
            task.enabled = (not task.enabled) if enabled is None else enabled
            if not task.enabled:
                task.last_run_at = None
            task.save()  # also tells beat the schedule changed
            count += 1
        self.message_user(request, f"{count} task(s) updated.")

    @admin.action(description="Enable selected tasks")
    def enable_tasks(
        self, request: HttpRequest, queryset: QuerySet[PeriodicTask]
    ) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected tasks")
    def disable_tasks(
        self, request: HttpRequest, queryset: QuerySet[PeriodicTask]
    ) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(description="Toggle activity of selected tasks")
    def toggle_tasks(
        self, request: HttpRequest, queryset: QuerySet[PeriodicTask]
    ) -> None:
        self._set_enabled(request, queryset, None)


@admin.register(ManualPrice)
class ManualPriceAdmin(admin.ModelAdmin):
    """Adding one here records the price (published, alerts checked) like
    `POST /api/v1/prices/manual/`; records are never edited afterwards."""

    list_display = ("asset", "price", "as_of", "applied", "recorded_by", "created_at")
    list_filter = ("applied",)
    list_select_related = ("asset", "recorded_by")
    fields = ("asset", "price", "as_of", "note")
    autocomplete_fields = ("asset",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return obj is None

    def save_model(
        self, request: HttpRequest, obj: ManualPrice, form: object, change: bool
    ) -> None:
        recorded = record_manual_price(
            asset=obj.asset, price=obj.price, as_of=obj.as_of,
            user=request.user,  # type: ignore[arg-type]  # admin: a staff user
            note=obj.note,
        )  # fmt: skip
        obj.pk = recorded.manual.pk
        obj.applied = recorded.manual.applied
