"""API keys in the admin: staff see prefixes and usage, revoke, and create keys (the key
is shown once in a message)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketpulse.accounts.keys import create_api_key, revoke_api_key
from marketpulse.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["user", "name", *readonly_fields]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            revoke_api_key(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool):  # type: ignore[no-untyped-def]
        if change:
            return super().save_model(request, obj, form, change)
        # Created by the service (which makes the key); the form's object takes its place.
        created, raw = create_api_key(user=obj.user, name=obj.name)
        obj.pk, obj.prefix, obj.hashed_key = (
            created.pk,
            created.prefix,
            created.hashed_key,
        )
        obj.created_at = created.created_at
        messages.warning(
            request, f"The new API key (copy it now, it is not shown again): {raw}"
        )
        return None
