"""Middleware the API's reads skip: Django's own, subclassed.

Safe-method requests under /api/ never use the messages framework, which builds its
cookie and session storages on every request. A subclass, so the admin's check still
finds it; kept out of `middleware.py`, which the logging configuration imports before
the apps are ready. (The CSRF and clickjacking middleware stay as they are: deploy
checks look for them by name, and they cost next to nothing on a read.)
"""

from typing import Any

from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_api_read(request: HttpRequest) -> bool:
    return request.method in _SAFE_METHODS and request.path_info.startswith("/api/")


class Messages(MessageMiddleware):
    def __call__(self, request: HttpRequest) -> Any:
        if is_api_read(request):
            return self.get_response(request)
        return super().__call__(request)
