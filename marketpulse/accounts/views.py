"""Account routes: JWT tokens and the owner's API keys."""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from marketpulse.accounts.keys import api_keys_for, create_api_key, revoke_api_key
from marketpulse.models import ApiKey


class NotViaApiKey(BasePermission):
    """Keys cannot mint or revoke keys: a leaked key must not be able to entrench itself."""

    message = "API keys cannot manage API keys; sign in with a token or a session."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not isinstance(request.auth, ApiKey)


class ApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "is_active",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class CreatedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself: shown this once, never again."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API keys. Create one to get its key (shown once); DELETE revokes it.

    No `Idempotency-Key` here: replaying would mean storing the key in clear.
    """

    permission_classes = [IsAuthenticated, NotViaApiKey]
    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()  # for the schema; get_queryset scopes to the user

    def get_queryset(self) -> Any:
        return api_keys_for(user=self.request.user)

    @extend_schema(responses={201: CreatedApiKeySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[ApiKey]) -> None:
        assert isinstance(self.request.user, User)  # IsAuthenticated
        api_key, raw = create_api_key(
            user=self.request.user, name=serializer.validated_data["name"]
        )
        api_key.key = raw  # type: ignore[attr-defined]
        serializer.instance = api_key

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return CreatedApiKeySerializer if self.action == "create" else ApiKeySerializer

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revokes the key at once; it stays listed with its `revoked_at`."""
        revoke_api_key(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
