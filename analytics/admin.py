from django.contrib import admin

from analytics.models import MarketReport


@admin.register(MarketReport)
class MarketReportAdmin(admin.ModelAdmin):
    list_display = ("day", "created_at")
    readonly_fields = ("day", "created_at", "data")
