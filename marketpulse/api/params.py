"""Query parameters read strictly: one given empty (`?start=`) is an error, not absent.

DRF and django-filter read query strings as HTML form input, where an empty value means
"not given"; but the schema says `start` is a date-time and `tracked` is `true` or `false`,
and an empty string is neither. So a parameter may be left out, or given a value the schema
allows; an empty one is a 400 naming it. Plain text parameters (`search`) and lists
(`ordering`) may be empty.
"""

from typing import Any

from django import forms
from django_filters.fields import BaseCSVField
from rest_framework import serializers

EMPTY = "May not be empty: give a value or leave the parameter out."


class QuerySerializer(serializers.Serializer):
    """Base of the serializers that read a view's query parameters."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        empty = {
            name: [EMPTY]
            for name, field in self.fields.items()
            if hasattr(data, "get")
            and data.get(name) == ""
            and not getattr(field, "allow_blank", False)
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


class NoEmptyParametersForm(forms.Form):
    """The form of a FilterSet (`Meta.form`): an empty value is refused, except for plain
    text filters."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, field in self.fields.items():
            if self.data.get(name) == "" and not _may_be_empty(field):
                self.add_error(name, EMPTY)
        return cleaned


def _may_be_empty(field: forms.Field) -> bool:
    # Plain text may be empty; so may a comma-separated list (`ordering=` is the empty
    # list: the schema's array has no minItems).
    return type(field) is forms.CharField or isinstance(field, BaseCSVField)
