"""API keys managed in the admin, and the contract other apps rely on (throttles)."""

import re

import pytest
from rest_framework.test import APIRequestFactory

from marketpulse.accounts.authentication import ApiKeyAuthentication
from marketpulse.accounts.keys import create_api_key, hash_key
from marketpulse.models import ApiKey
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    root = UserFactory(username="root", superuser=True)
    client.force_login(root)
    return client


def test_a_key_created_in_the_admin_is_shown_once_and_works(admin_client, alice):
    response = admin_client.post(
        "/admin/marketpulse/apikey/add/",
        {"user": alice.pk, "name": "from admin"},
        follow=True,
    )
    assert response.status_code == 200
    shown = re.search(r"(mp_[0-9a-f]{8}_[A-Za-z0-9_-]{43})", response.content.decode())
    assert shown
    stored = ApiKey.objects.get()
    assert (stored.user, stored.name, stored.hashed_key) == (
        alice,
        "from admin",
        hash_key(shown.group(1)),
    )
    listing = admin_client.get("/admin/marketpulse/apikey/").content.decode()
    assert stored.prefix in listing
    assert shown.group(1) not in listing


def test_the_admin_revoke_action_revokes(admin_client, alice):
    api_key = ApiKeyFactory(user=alice)
    admin_client.post(
        "/admin/marketpulse/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_api_key_requests_carry_the_user_and_the_key_object(alice):
    api_key, raw = create_api_key(user=alice, name="k")
    request = APIRequestFactory().get("/", HTTP_X_API_KEY=raw)
    user, auth = ApiKeyAuthentication().authenticate(request)  # type: ignore[misc]
    assert user == alice
    assert auth == api_key
    assert isinstance(auth, ApiKey)


def test_last_use_is_written_at_most_once_a_minute(alice, django_assert_num_queries):
    _, raw = create_api_key(user=alice, name="k")
    request = APIRequestFactory().get("/", HTTP_X_API_KEY=raw)
    with django_assert_num_queries(2):  # lookup + last_used_at
        ApiKeyAuthentication().authenticate(request)
    with django_assert_num_queries(1):  # lookup only
        ApiKeyAuthentication().authenticate(request)
