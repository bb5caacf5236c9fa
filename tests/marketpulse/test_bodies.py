"""Bad bodies are 4xx in the envelope, never a 500 with a traceback: a deeply nested JSON
body is a 400, one over MAX_REQUEST_BYTES a 413, through the real server."""

import httpx
import pytest
from django.conf import settings

from tests import servers

pytestmark = pytest.mark.slow

TOKEN = "/api/v1/auth/token/"
JSON = {"Content-Type": "application/json"}


def envelope_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    return body["error"]["code"]


@pytest.fixture
def served(server_env):  # type: ignore[no-untyped-def]
    with servers.asgi_server(server_env) as base_url:  # noqa: SIM117
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client


def test_deeply_nested_json_is_a_400(served):
    deep = "[" * 100_000 + "]" * 100_000
    response = served.post(TOKEN, content=deep, headers=JSON)
    assert response.status_code == 400
    assert envelope_code(response) == "parse_error"
    # Nesting within reason still parses (and is then judged by the serializer).
    response = served.post(
        TOKEN, content='{"username": [[[1]]], "password": "x"}', headers=JSON
    )
    assert response.status_code == 400
    assert envelope_code(response) == "validation_error"


def test_a_body_over_the_limit_is_a_413(served):
    big = '{"username": "' + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    response = served.post(TOKEN, content=big, headers=JSON)
    assert response.status_code == 413
    assert envelope_code(response) == "payload_too_large"
    form = "username=" + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = served.post(TOKEN, content=form, headers=form_headers)
    assert response.status_code == 413


@pytest.mark.django_db
def test_a_body_over_the_limit_outside_drf_is_a_413_too(client):
    """The admin's login form, read by Django itself (the test client skips CSRF,
    which would refuse first on the served stack)."""
    form = {"username": "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "password": "x"}
    response = client.post("/admin/login/", form)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_username_longer_than_any_is_a_400_naming_it(served):
    response = served.post(
        TOKEN, json={"username": "a" * 1000, "password": "x"}, headers=JSON
    )
    assert response.status_code == 400
    assert "username" in response.json()["error"]["details"]
