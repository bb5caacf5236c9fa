from django.contrib import admin

from analytics.models import Anomaly, MarketReport


@admin.register(MarketReport)
class MarketReportAdmin(admin.ModelAdmin):
    list_display = ("day", "created_at")
    readonly_fields = ("day", "created_at", "data")


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    list_display = ("time", "asset", "kind", "interval", "window", "score", "threshold")
    list_filter = (
        "kind",
        "interval",
        "window",
        ("asset", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("asset__symbol",)
    date_hierarchy = "time"
    list_select_related = ("asset",)
    readonly_fields = [f.name for f in Anomaly._meta.fields]
