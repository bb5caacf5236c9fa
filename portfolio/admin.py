from django.contrib import admin

from portfolio.models import Portfolio, Trade


class TradeInline(admin.TabularInline):
    model = Trade
    extra = 0
    fields = ("executed_at", "asset", "side", "quantity", "price", "fee", "note")
    readonly_fields = fields  # trades change through the API, which checks oversells


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "cost_basis_method", "base_currency", "created_at"]
    list_filter = ["cost_basis_method"]
    search_fields = ["name", "owner__username"]
    inlines = [TradeInline]


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = [
        "executed_at",
        "portfolio",
        "asset",
        "side",
        "quantity",
        "price",
        "fee",
    ]
    list_filter = ["side"]
    search_fields = ["portfolio__name", "asset__symbol"]
    readonly_fields = [f.name for f in Trade._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
