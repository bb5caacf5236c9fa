"""Listing filters: `AssetFilter(params, queryset).qs`; bad values fail validation (400)."""

from typing import Any

import django_filters
from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import F, Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from assets.models import Asset, AssetClass
from assets.symbols import SymbolListError, parse_symbols, symbol_list_pattern
from marketpulse.api.params import NoEmptyParametersForm

ORDERING_FIELDS = ("rank", "market_cap", "volume_24h", "change_24h", "price", "symbol")
MAX_SYMBOLS = 250


class SymbolListField(forms.CharField):
    def clean(self, value: Any) -> list[str] | None:
        if value is None:
            return None
        try:
            return parse_symbols(value, limit=MAX_SYMBOLS)
        except SymbolListError as exc:
            raise forms.ValidationError(str(exc)) from None


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "pattern": symbol_list_pattern(MAX_SYMBOLS),
        "description": f"1 to {MAX_SYMBOLS} comma-separated symbols, case-insensitive.",
    }
)
class SymbolListFilter(django_filters.Filter):
    field_class = SymbolListField


# The largest figure a filter takes (django-filter's own cap, which keeps the SQL in range).
LARGEST_FIGURE = 1e50


@extend_schema_field({"type": "number", "maximum": LARGEST_FIGURE})
class FigureFilter(django_filters.NumberFilter):
    """A bound on a market figure; the schema states its maximum."""

    def get_max_validator(self) -> MaxValueValidator:
        return MaxValueValidator(LARGEST_FIGURE)


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Assets without a figure sort after those with one, either direction; symbol
    breaks ties so limit/offset pages never overlap."""

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return qs
        order = []
        for name in value:
            field = F(self.param_map.get(name.lstrip("-"), name.lstrip("-")))
            if name.startswith("-"):
                order.append(field.desc(nulls_last=True))
            else:
                order.append(field.asc(nulls_last=True))
        return qs.order_by(*order, "symbol")


class AssetFilter(django_filters.FilterSet):
    symbols = SymbolListFilter(method="filter_symbols")
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=100,
        help_text="Case-insensitive prefix of the symbol or the name.",
    )
    asset_class = django_filters.ChoiceFilter(choices=AssetClass.choices)
    market_cap_min = FigureFilter("market_cap", lookup_expr="gte")
    market_cap_max = FigureFilter("market_cap", lookup_expr="lte")
    volume_min = FigureFilter("volume_24h", lookup_expr="gte")
    volume_max = FigureFilter("volume_24h", lookup_expr="lte")
    price_min = FigureFilter("price", lookup_expr="gte")
    price_max = FigureFilter("price", lookup_expr="lte")
    tracked = django_filters.ChoiceFilter(
        method="filter_tracked", choices=[("true", "true"), ("false", "false")]
    )
    ordering = NullsLastOrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="One or more of " + ", ".join(ORDERING_FIELDS) + "; '-' descends.",
    )

    class Meta:
        model = Asset
        fields: list[str] = []
        form = NoEmptyParametersForm

    def filter_symbols(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        return qs.filter(symbol__in=value)

    def filter_tracked(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(is_tracked=value == "true")

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(symbol__istartswith=value) | Q(name__istartswith=value))
