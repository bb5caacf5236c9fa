"""Content negotiation and query checks shared by the API's views."""

from collections.abc import Iterable
from typing import Any

from django.http import Http404
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from marketpulse.api.renderers import OrjsonRenderer
from marketpulse.errors import MarketPulseError

# DRF's format override (`?format=json|csv`) is known to every view.
ALWAYS_KNOWN = frozenset({"format"})


class JsonFirstMixin:
    """Errors always in the JSON envelope, even when CSV was asked for; an unknown
    `?format=` is a 400 naming it rather than a 404."""

    def perform_content_negotiation(self, request: Request, force: bool = False):  # type: ignore[no-untyped-def]
        try:
            return super().perform_content_negotiation(request, force)  # type: ignore[misc]
        except Http404:
            raise ValidationError(
                {"format": ["Unsupported format; use json or csv."]}
            ) from None

    def finalize_response(self, request: Request, response: Any, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = OrjsonRenderer()
            request.accepted_media_type = OrjsonRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


def refuse_unknown_params(request: Request, known: Iterable[str]) -> None:
    """A 400 naming each query parameter the view does not know. Where a response is
    cached by its query string, an ignored parameter would make a new entry per value."""
    unknown = sorted(set(request.query_params) - ALWAYS_KNOWN - set(known))
    if unknown:
        raise MarketPulseError(
            code="validation_error",
            message="The request has invalid fields; see details.",
            details={name: ["Unknown query parameter."] for name in unknown},
        )
