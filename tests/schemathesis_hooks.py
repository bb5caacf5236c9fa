"""Schemathesis hooks shared by the property-based runs (CLI: `SCHEMATHESIS_HOOKS`).

One rule of the API spans two parameters, and OpenAPI cannot state it: a time range's `end`
comes after its `start` (a reversed range is a 400, as the history and performance tests
prove). A generated "valid" case with a reversed range is not something the schema
promises, so it is not sent as one; every other positive case is.
"""

from datetime import datetime

import schemathesis


def _reversed_range(query: dict | None) -> bool:
    if not query or "start" not in query or "end" not in query:
        return False
    try:
        start = datetime.fromisoformat(str(query["start"]))
        end = datetime.fromisoformat(str(query["end"]))
        return end <= start
    except (TypeError, ValueError):  # not both aware times: not this rule's business
        return False


@schemathesis.hook
def filter_case(context, case) -> bool:  # type: ignore[no-untyped-def]
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    return not (positive and _reversed_range(case.query))
