"""The audit log (django-auditlog): who changed what, when, through which request.

Each entry records the actor (the user; `additional_data.via` says whether a session or
token, an API key — with its prefix — or the system, i.e. a Celery task or a command,
made the change), the request id (auditlog's correlation id, `cid`) and the changes.
auditlog's own middleware reads `request.user` before DRF authenticates a token or an
API key; `AuditContextMiddleware` hands it a lazy actor instead, resolved when an entry
is written, after DRF has authenticated the request.

Apps register their models (in their `ready()`); a model a user owns puts its owner in
each entry (`get_additional_data()` -> `{"owner": user id}`), so `GET /api/v1/audit/` shows
a user the history of their own objects, deleted ones included. This module imports no app.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from auditlog.cid import get_cid
from auditlog.context import auditlog_value, set_extra_data
from auditlog.models import LogEntry
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import SimpleLazyObject
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from marketpulse.api.middleware import current_request_id
from marketpulse.models import ApiKey


def request_id_for_audit() -> str | None:
    """AUDITLOG_CID_GETTER: the request id of the request being served, if any."""
    if auditlog_value.get({}).get("request") is None:
        return None  # not in a request (a task, a command): the last id may linger
    request_id = current_request_id()
    return None if request_id == "-" else request_id


def _actor(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class AuditContextMiddleware:
    """Replaces auditlog's middleware: a lazy actor, and how the request authenticated."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)  # reads change nothing: no context
        context = {
            "actor": SimpleLazyObject(lambda: _actor(request)),
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "remote_port": None,
            "request": request,
        }
        try:
            with set_extra_data(context_data=context):
                return self.get_response(request)
        finally:
            # auditlog leaves its context set after the request: a later change made
            # in this thread outside a request must not be put on this request's actor.
            auditlog_value.set({"signal_duid": None})


def describe_actor(sender: Any, instance: LogEntry, **_: Any) -> None:
    """pre_save of LogEntry: says how the change was made (session/token, API key, system).

    Runs before auditlog's own receiver fills the actor; it reads the same context."""
    try:
        context = auditlog_value.get()
    except LookupError:
        context = {}
    request = context.get("request")
    data = dict(instance.additional_data or {})
    if request is None:
        data["via"] = "system"
    else:
        # DRF sets `user` and `auth` on the Django request too once it authenticates.
        key = getattr(request, "auth", None)
        if isinstance(key, ApiKey):
            data["via"] = "api_key"
            data["api_key"] = {"id": key.pk, "prefix": key.prefix}
        elif _actor(request) is not None:
            data["via"] = "user"
        else:
            data["via"] = "anonymous"
    instance.additional_data = data
    if not instance.cid:
        instance.cid = get_cid()


def visible_entries(*, user: Any) -> QuerySet[LogEntry]:
    """Operators see every entry; a user sees the history of their own objects."""
    from marketpulse.accounts.permissions import is_operator

    entries = LogEntry.objects.select_related("actor", "content_type")
    if is_operator(user):
        return entries.order_by("-timestamp", "-pk")
    if not user.is_authenticated:
        return entries.none()
    return entries.filter(additional_data__owner=user.pk).order_by("-timestamp", "-pk")


def purge_old_entries(*, now: datetime | None = None) -> int:
    """Deletes entries older than AUDIT_RETENTION_DAYS; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    return deleted


# --- GET /api/v1/audit/ ----------------------------------------------------------------


OBJECT_SCHEMA = {
    "type": "object",
    "properties": {p: {"type": "string"} for p in ("type", "id", "repr")},
}
ACTOR_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "nullable": True},
        "via": {"type": "string", "enum": ["user", "api_key", "system", "anonymous"]},
        "api_key": {"type": "object"},
    },
}


class AuditEntrySerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    object = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField()
    request_id = serializers.CharField(source="cid", allow_null=True)
    changes = serializers.JSONField(source="changes_dict")

    class Meta:
        model = LogEntry
        fields = [
            "id",
            "timestamp",
            "action",
            "object",
            "actor",
            "request_id",
            "changes",
        ]

    def get_action(self, entry: LogEntry) -> str:
        return str(ACTIONS.get(entry.action, entry.action))

    @extend_schema_field(OBJECT_SCHEMA)
    def get_object(self, entry: LogEntry) -> dict[str, str]:
        kind = entry.content_type
        return {
            "type": f"{kind.app_label}.{kind.model}",
            "id": entry.object_pk,
            "repr": entry.object_repr,
        }

    @extend_schema_field(ACTOR_SCHEMA)
    def get_actor(self, entry: LogEntry) -> dict[str, Any]:
        data = entry.additional_data or {}
        actor: dict[str, Any] = {
            "username": entry.actor.get_username() if entry.actor else None,
            "via": data.get("via", "system"),
        }
        if "api_key" in data:
            actor["api_key"] = data["api_key"]
        return actor


ACTIONS = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "update",
    LogEntry.Action.DELETE: "delete",
    LogEntry.Action.ACCESS: "access",
}


class AuditEntryViewSet(ListModelMixin, GenericViewSet):
    """Who changed what: a user reads the history of their own trades and alerts,
    operators all.

    `?type=portfolio.trade&object_id=12` narrows to one object's history."""

    serializer_class = AuditEntrySerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("type", str, description="app_label.model"),
            OpenApiParameter("object_id", str),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[LogEntry]:
        entries = visible_entries(user=self.request.user)
        kind = self.request.query_params.get("type")
        if kind:
            app_label, _, model = kind.lower().partition(".")
            entries = entries.filter(
                content_type__app_label=app_label, content_type__model=model
            )
        object_id = self.request.query_params.get("object_id")
        if object_id:
            entries = entries.filter(object_pk=object_id)
        return entries
