"""Rate limits: counted in Redis, announced in headers, 429 in the envelope when exceeded."""

import pytest
from django_redis import get_redis_connection
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/assets/"


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "3/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "5/min")


def test_every_response_counts_down_the_limit(api_client, three_per_minute):
    remaining = []
    for _ in range(3):
        response = api_client.get(URL)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert 0 < int(response["X-RateLimit-Reset"]) <= 60
        remaining.append(response["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]


def test_over_the_limit_is_a_429_with_retry_after(api_client, three_per_minute):
    for _ in range(3):
        api_client.get(URL)
    response = api_client.get(URL)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "throttled"
    retry = int(response["Retry-After"])
    assert 0 < retry <= 60
    assert error["details"]["retry_after"] == retry
    assert response["X-RateLimit-Remaining"] == "0"


def test_clients_are_counted_per_ip(api_client, three_per_minute):
    for _ in range(3):
        api_client.get(URL, REMOTE_ADDR="10.0.0.1")
    assert api_client.get(URL, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert api_client.get(URL, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(
    api_client, three_per_minute
):
    for n in range(3):
        api_client.get(URL, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert api_client.get(URL, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_a_signed_in_user_has_a_limit_of_their_own(api_client, three_per_minute):
    for _ in range(3):
        api_client.get(URL)
    api_client.force_authenticate(UserFactory(username="alice"))
    response = api_client.get(URL)
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "5"


def test_counters_live_in_redis_where_every_process_sees_them(
    api_client, three_per_minute
):
    api_client.get(URL, REMOTE_ADDR="10.9.9.9")
    keys = get_redis_connection("default").keys("mp:throttle:anon:10.9.9.9:*")
    assert len(keys) == 1
    assert get_redis_connection("default").get(keys[0]) == b"1"


def test_a_users_api_keys_share_the_users_limit(api_client, alice, three_per_minute):
    """A new key is not a fresh budget: keys, tokens and sessions of one user count
    together."""
    from marketpulse.accounts.keys import create_api_key

    _, first = create_api_key(user=alice, name="bot-1")
    for _ in range(5):
        assert api_client.get(URL, HTTP_X_API_KEY=first).status_code == 200
    assert api_client.get(URL, HTTP_X_API_KEY=first).status_code == 429
    _, second = create_api_key(user=alice, name="bot-2")
    response = api_client.get(URL, HTTP_X_API_KEY=second)
    assert response.status_code == 429
    assert response["X-RateLimit-Remaining"] == "0"
    api_client.force_authenticate(alice)  # her session or token: the same budget
    assert api_client.get(URL).status_code == 429
    redis = get_redis_connection("default")
    assert redis.keys("mp:throttle:key:*") == []
    assert len(redis.keys(f"mp:throttle:user:{alice.pk}:*")) == 1


def test_another_user_keeps_a_budget_of_their_own(
    api_client, alice, bob, three_per_minute
):
    from marketpulse.accounts.keys import create_api_key

    _, alices = create_api_key(user=alice, name="bot")
    _, bobs = create_api_key(user=bob, name="bot")
    for _ in range(6):
        api_client.get(URL, HTTP_X_API_KEY=alices)
    assert api_client.get(URL, HTTP_X_API_KEY=bobs).status_code == 200


def test_token_requests_are_limited_tightly_per_ip(api_client, alice, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/min")
    wrong = {"username": "alice", "password": "not-her-password"}
    for _ in range(3):
        assert api_client.post("/api/v1/auth/token/", wrong).status_code == 401
    response = api_client.post("/api/v1/auth/token/", wrong)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert (
        api_client.post(
            "/api/v1/auth/token/", wrong, REMOTE_ADDR="10.1.1.1"
        ).status_code
        == 401
    )
