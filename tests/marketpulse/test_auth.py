"""Tokens, API keys and roles, through the real URLs."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from marketpulse.accounts.keys import hash_key
from marketpulse.accounts.permissions import is_operator
from marketpulse.models import ApiKey
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
KEYS = "/api/v1/api-keys/"
PORTFOLIOS = "/api/v1/portfolios/"


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    return body["error"]["code"]


def tokens(client: APIClient, username: str) -> dict:
    response = client.post(TOKEN, {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_token_from_username_and_password_authenticates_requests(api_client, alice):
    access = tokens(api_client, "alice")["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api_client.post(PORTFOLIOS, {"name": "Main"})
    assert response.status_code == 201
    assert response.json()["name"] == "Main"


def test_a_wrong_password_is_a_401_in_the_envelope(api_client, alice):
    response = api_client.post(TOKEN, {"username": "alice", "password": "nope"})
    assert response.status_code == 401
    assert error_code(response) == "no_active_account"
    assert "access" not in response.json()


def test_an_anonymous_write_is_a_401_that_says_how_to_authenticate(api_client, db):
    response = api_client.post(PORTFOLIOS, {"name": "Main"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_code(response) == "not_authenticated"


def test_a_forged_or_garbled_token_is_a_401(api_client, alice):
    access = tokens(api_client, "alice")["access"]
    for bad in (access[:-3] + "abc", "not-a-jwt"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {bad}")
        response = api_client.get(PORTFOLIOS)
        assert response.status_code == 401
        assert error_code(response) == "token_not_valid"


def test_an_expired_access_token_is_refused_and_refresh_gives_a_working_one(
    api_client, alice
):
    issued = datetime.now(UTC)
    with time_machine.travel(issued, tick=False):
        pair = tokens(api_client, "alice")
    with time_machine.travel(issued + timedelta(minutes=16), tick=False):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        assert api_client.get(PORTFOLIOS).status_code == 401
        api_client.credentials()
        refreshed = api_client.post(REFRESH, {"refresh": pair["refresh"]})
        assert refreshed.status_code == 200
        access = refreshed.json()["access"]
        assert access != pair["access"]
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert api_client.get(PORTFOLIOS).status_code == 200


def test_an_access_token_cannot_be_used_as_a_refresh_token(api_client, alice):
    pair = tokens(api_client, "alice")
    response = api_client.post(REFRESH, {"refresh": pair["access"]})
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_a_deactivated_user_gets_no_token_and_old_tokens_stop(api_client, alice):
    access = tokens(api_client, "alice")["access"]
    alice.is_active = False
    alice.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get(PORTFOLIOS).status_code == 401
    api_client.credentials()
    assert (
        api_client.post(TOKEN, {"username": "alice", "password": PASSWORD}).status_code
        == 401
    )


# --- API keys ---------------------------------------------------------------------


def test_an_api_key_is_shown_once_with_its_prefix_and_stored_hashed(alice_client):
    created = alice_client.post(KEYS, {"name": "bot"})
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith(body["prefix"] + "_")
    assert body["prefix"].startswith("mp_")
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.hashed_key == hash_key(key)
    assert key not in stored.hashed_key
    listed = alice_client.get(KEYS).json()["results"]
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "key" not in listed[0]
    assert "key" not in alice_client.get(f"{KEYS}{body['id']}/").json()


def test_an_api_key_authenticates_as_its_owner_and_records_last_use(
    alice_client, api_client
):
    body = alice_client.post(KEYS, {"name": "bot"}).json()
    assert body["last_used_at"] is None
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.post(PORTFOLIOS, {"name": "From a program"}).status_code == 201
    listed = api_client.get(PORTFOLIOS).json()["results"]
    assert [p["name"] for p in listed] == ["From a program"]
    assert ApiKey.objects.get(pk=body["id"]).last_used_at is not None


def test_a_revoked_api_key_stops_working_at_once(alice_client, api_client):
    body = alice_client.post(KEYS, {"name": "bot"}).json()
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.get(PORTFOLIOS).status_code == 200
    assert alice_client.delete(f"{KEYS}{body['id']}/").status_code == 204
    response = api_client.get(PORTFOLIOS)
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"
    listed = alice_client.get(KEYS).json()["results"]
    assert listed[0]["is_active"] is False
    assert listed[0]["revoked_at"]


def test_an_unknown_api_key_is_a_401_not_an_anonymous_call(api_client, db):
    for bad in ("mp_deadbeef_nothing", "garbage"):
        api_client.credentials(HTTP_X_API_KEY=bad)
        response = api_client.get(PORTFOLIOS)
        assert response.status_code == 401
        assert error_code(response) == "invalid_api_key"


def test_another_users_api_key_is_a_404_and_stays_active(alice_client, bob_client):
    body = alice_client.post(KEYS, {"name": "bot"}).json()
    assert bob_client.get(f"{KEYS}{body['id']}/").status_code == 404
    assert bob_client.delete(f"{KEYS}{body['id']}/").status_code == 404
    assert bob_client.get(KEYS).json()["results"] == []
    assert ApiKey.objects.get(pk=body["id"]).revoked_at is None


def test_an_api_key_cannot_create_or_revoke_keys(alice_client, api_client):
    body = alice_client.post(KEYS, {"name": "bot"}).json()
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.post(KEYS, {"name": "more"}).status_code == 403
    assert api_client.delete(f"{KEYS}{body['id']}/").status_code == 403
    assert ApiKey.objects.count() == 1


def test_api_keys_need_a_signed_in_user(api_client, db):
    assert api_client.get(KEYS).status_code == 401
    assert api_client.post(KEYS, {"name": "x"}).status_code == 401


def test_an_api_key_of_a_deactivated_user_stops_working(
    alice, alice_client, api_client
):
    body = alice_client.post(KEYS, {"name": "bot"}).json()
    alice.is_active = False
    alice.save()
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.get(PORTFOLIOS).status_code == 401


# --- Roles --------------------------------------------------------------------------


def test_the_operator_group_exists_after_migrating():
    assert Group.objects.filter(name="operator").exists()


def test_operators_are_the_operator_group_and_superusers(alice, operator, db):
    root = UserFactory(username="root", superuser=True)
    assert [is_operator(u) for u in (alice, operator, root)] == [False, True, True]


def test_the_schema_documents_both_auth_schemes(api_client, db):
    import yaml

    schema = yaml.safe_load(api_client.get("/api/schema/").content)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["BearerAuth"]["description"],
    }
    assert (schemes["ApiKeyAuth"]["in"], schemes["ApiKeyAuth"]["name"]) == (
        "header",
        "X-API-Key",
    )
    security = schema["paths"]["/api/v1/portfolios/"]["post"]["security"]
    assert {"BearerAuth": []} in security
    assert {"ApiKeyAuth": []} in security


# --- Revocation (issue 12, item 3)


def refresh(client: APIClient, token: str):  # type: ignore[no-untyped-def]
    return client.post(REFRESH, {"refresh": token})


def test_a_password_change_revokes_earlier_refresh_and_access_tokens(api_client, alice):
    before = tokens(api_client, "alice")
    alice.set_password("a whole new passphrase")
    alice.save()
    response = refresh(api_client, before["refresh"])
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {before['access']}")
    assert api_client.get(KEYS).status_code == 401
    # Signing in with the new password works as ever.
    api_client.credentials()
    after = api_client.post(
        TOKEN, {"username": "alice", "password": "a whole new passphrase"}
    ).json()
    assert refresh(api_client, after["refresh"]).status_code == 200


def test_deactivation_revokes_refresh_tokens(api_client, alice):
    before = tokens(api_client, "alice")
    alice.is_active = False
    alice.save()
    response = refresh(api_client, before["refresh"])
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_refreshing_a_deleted_users_token_is_a_401_not_a_500(api_client, alice):
    before = tokens(api_client, "alice")
    alice.delete()
    response = refresh(api_client, before["refresh"])
    assert response.status_code == 401
    assert error_code(response) == "token_not_valid"


def test_an_untouched_account_refreshes(api_client, alice):
    response = refresh(api_client, tokens(api_client, "alice")["refresh"])
    assert response.status_code == 200
    assert response.json()["access"]
