"""Paging, strict about its parameters (400 instead of guessing).

Limit/offset is the default paginator of every list (`DEFAULT_PAGINATION_CLASS`); the
schema states the same bounds the parser enforces.
"""

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
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


class StrictCursorPagination(CursorPagination):
    """Cursor pages (subclasses set `ordering`); a bad `cursor` or `limit` is a 400
    naming it (not DRF's 404)."""

    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {"limit": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    minimum=1, maximum=self.max_page_size, default=self.page_size
                )
            if parameter["name"] == self.cursor_query_param:
                parameter["schema"]["minLength"] = 1
        return parameters

    def decode_cursor(self, request: Request):  # type: ignore[no-untyped-def]
        if request.query_params.get(self.cursor_query_param) == "":
            raise ValidationError(
                {
                    "cursor": [
                        "May not be empty: follow `next` as given, or leave it out."
                    ]
                }
            )
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": ["Invalid cursor; follow `next` as given."]}
            ) from None
