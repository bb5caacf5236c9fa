"""Filters of the analytics lists."""

import django_filters

from analytics.models import Anomaly, AnomalyKind
from marketpulse.api.params import NoEmptyParametersForm


class AnomalyFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(
        field_name="asset__symbol", lookup_expr="iexact", help_text="Case-insensitive."
    )
    kind = django_filters.ChoiceFilter(choices=AnomalyKind.choices)
    since = django_filters.IsoDateTimeFilter(
        field_name="time",
        lookup_expr="gte",
        help_text="Anomalies at or after (ISO 8601).",
    )

    class Meta:
        model = Anomaly
        fields = ["symbol", "kind", "since"]
        form = NoEmptyParametersForm
