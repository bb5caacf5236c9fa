"""Password guessing: after LOGIN_FAILURE_LIMIT wrong passwords a username (from any
address) and an address (for any username) are locked out of the token endpoint and the
admin login, right password included; counted in PostgreSQL, so Redis being down changes
nothing."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import servers
from tests.factories import PASSWORD, OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


def sign_in(client: APIClient, username: str, password: str, address: str):  # type: ignore[no-untyped-def]
    return client.post(
        TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address
    )


def guess(client: APIClient, username: str, address: str) -> list[int]:
    return [
        sign_in(client, username, f"guess-{n}", address).status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]


def assert_locked(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "locked_out"
    assert set(error) == {"code", "message", "details", "request_id"}
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "access" not in response.json()


def test_wrong_passwords_lock_the_username_even_for_the_right_one(api_client, alice):
    statuses = guess(api_client, "alice", "10.1.0.1")
    assert statuses[:-1] == [401] * (settings.AXES_FAILURE_LIMIT - 1)
    assert_locked(sign_in(api_client, "alice", "one-more", "10.1.0.1"))
    # The right password, from another address: still refused while locked.
    assert_locked(sign_in(api_client, "alice", PASSWORD, "10.1.0.2"))


def test_an_address_guessing_many_usernames_is_locked_out(api_client, alice):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(api_client, f"nobody-{n}", "guess", "10.2.0.1")
    assert_locked(sign_in(api_client, "alice", PASSWORD, "10.2.0.1"))
    # Alice herself, from her own address, is not locked out by someone else's guesses.
    assert sign_in(api_client, "alice", PASSWORD, "10.2.0.9").status_code == 200


def test_a_right_password_before_the_limit_signs_in(api_client, alice):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(api_client, "alice", f"guess-{n}", "10.3.0.1")
    assert sign_in(api_client, "alice", PASSWORD, "10.3.0.1").status_code == 200


def test_the_admin_login_locks_out_too(client):
    OperatorFactory(username="root", is_staff=True, is_superuser=True)
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            ADMIN_LOGIN,
            {"username": "root", "password": f"guess-{n}"},
            REMOTE_ADDR="10.4.0.1",
        )
    response = client.post(
        ADMIN_LOGIN, {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.4.0.7"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_lockout_holds_with_redis_stopped(api_client, settings, tmp_path):
    """Rate limits fail open without Redis; the lockout is in PostgreSQL and does not."""
    UserFactory(username="alice")
    port = servers.free_port()
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    with servers.redis_server(port, tmp_path):
        assert sign_in(api_client, "alice", "guess", "10.5.0.1").status_code == 401
    # Redis is gone now.
    statuses = guess(api_client, "alice", "10.5.0.1")
    assert statuses[: settings.AXES_FAILURE_LIMIT - 2] == [401] * (
        settings.AXES_FAILURE_LIMIT - 2
    )
    assert_locked(sign_in(api_client, "alice", PASSWORD, "10.5.0.2"))
