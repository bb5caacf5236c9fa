"""Content negotiation shared by the API's views."""

from typing import Any

from django.http import Http404
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from marketpulse.api.renderers import OrjsonRenderer


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
