"""Roles: operators run syncs and manage assets and schedules; users own their data."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

OPERATOR_GROUP = "operator"


def is_operator(user: User | AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    return bool(
        getattr(user, "is_superuser", False)
        or (isinstance(user, User) and user.groups.filter(name=OPERATOR_GROUP).exists())
    )


class IsOperator(BasePermission):
    message = "Only operators may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_operator(request.user)
