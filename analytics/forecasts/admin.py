from django.contrib import admin

from analytics.forecasts.models import ForecastModel, Prediction, TrainingRun


@admin.register(ForecastModel)
class ForecastModelAdmin(admin.ModelAdmin):
    list_display = ("asset", "horizon", "family", "version", "is_served", "created_at")
    list_filter = (
        "horizon",
        "family",
        "is_served",
        ("asset", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("asset__symbol",)
    list_select_related = ("asset",)
    exclude = ("artefact",)
    readonly_fields = [
        f.name for f in ForecastModel._meta.fields if f.name != "artefact"
    ]


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "queued_at", "started_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "asset", "horizon", "family", "made_at",
                    "target_time", "price", "actual")  # fmt: skip
    list_filter = ("horizon", "family")
    search_fields = ("asset__symbol", "user__username")
    list_select_related = ("asset", "user")
    readonly_fields = [f.name for f in Prediction._meta.fields]
