"""Limit/offset paging for lists, strict about its parameters (400 instead of guessing).

The default paginator of every list (`REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]`); the
schema states the same bounds the parser enforces.
"""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request


def _parse(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(
            {name: [f"A whole number is required, not {raw!r}."]}
        ) from None
    if not low <= value <= high:
        raise ValidationError({name: [f"Must be between {low} and {high}."]})
    return value


class LimitOffsetPage(LimitOffsetPagination):
    default_limit = 100
    max_limit = 250
    max_offset = 1_000_000

    def get_limit(self, request: Request) -> int:
        return _parse(
            request, self.limit_query_param, self.default_limit, 1, self.max_limit
        )

    def get_offset(self, request: Request) -> int:
        return _parse(request, self.offset_query_param, 0, 0, self.max_offset)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            self.limit_query_param: (1, self.max_limit, self.default_limit),
            self.offset_query_param: (0, self.max_offset, 0),
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high, default = bounds[parameter["name"]]
            parameter["schema"] = {
                "type": "integer",
                "minimum": low,
                "maximum": high,
                "default": default,
            }
        return parameters
