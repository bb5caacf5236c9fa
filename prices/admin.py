from django.contrib import admin

from prices.models import Candle


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
