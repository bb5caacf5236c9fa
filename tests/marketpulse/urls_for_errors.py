"""Routes that fail on purpose, to check the error envelope end to end."""

from django.db import OperationalError
from django.urls import include, path
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from marketpulse.errors import MarketPulseError
from marketpulse.urls import urlpatterns as real_urlpatterns


class PointSerializer(serializers.Serializer):
    x = serializers.IntegerField(min_value=0)


@api_view(["POST"])
@permission_classes([AllowAny])
def validate(request):  # type: ignore[no-untyped-def]
    PointSerializer(data=request.data).is_valid(raise_exception=True)
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([AllowAny])
def conflict(request):  # type: ignore[no-untyped-def]
    raise MarketPulseError(
        code="oversell",
        message="Selling more than held.",
        status=409,
        details={"held": "1"},
    )


@api_view(["GET"])
def drf_crash(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals")


def django_crash(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals")


def django_database_down(request):  # type: ignore[no-untyped-def]
    raise OperationalError("connection to server at 10.0.0.5, port 5432 failed")


class OnePerMinute(AnonRateThrottle):
    rate = "1/min"
    scope = "test"


@api_view(["GET"])
@throttle_classes([OnePerMinute])
def throttled(request):  # type: ignore[no-untyped-def]
    return Response({"ok": True})


urlpatterns = [
    path("t/validate/", validate),
    path("t/conflict/", conflict),
    path("t/drf-crash/", drf_crash),
    path("t/django-crash/", django_crash),
    path("t/django-database-down/", django_database_down),
    path("t/throttled/", throttled),
    path("", include(real_urlpatterns)),
]

handler400 = "marketpulse.api.errors.bad_request"
handler403 = "marketpulse.api.errors.permission_denied"
handler404 = "marketpulse.api.errors.page_not_found"
handler500 = "marketpulse.api.errors.server_error"
