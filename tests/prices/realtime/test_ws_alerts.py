"""`/ws/alerts/`: a user receives their own alert events, by session or JWT, nobody else's."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from analytics.alerts.delivery import publish_alert
from tests.prices.realtime.wsclient import closed_with, connect, nothing_within, receive

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SECRET_KEY signs the tokens; a short one in test environments is fine.
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


@pytest.fixture
def alice_cookie(alice: User) -> str:
    client = Client()
    client.force_login(alice)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_each_user_gets_only_their_own_alerts(ws_url, alice, bob, alice_cookie):
    bob_token = str(AccessToken.for_user(bob))
    async with (
        connect(
            f"{ws_url}/ws/alerts/", additional_headers={"Cookie": alice_cookie}
        ) as a,
        connect(f"{ws_url}/ws/alerts/?token={bob_token}") as b,
    ):
        for ws in (a, b):
            assert await receive(ws) == {"type": "subscribed", "stream": "alerts"}
        publish_alert(user_id=alice.pk, event={"alert_id": 1, "symbol": "BTC"})
        publish_alert(user_id=bob.pk, event={"alert_id": 2, "symbol": "ETH"})
        publish_alert(user_id=alice.pk, event={"alert_id": 3, "symbol": "SOL"})
        assert [(await receive(a))["event"]["alert_id"] for _ in range(2)] == [1, 3]
        assert await receive(b) == {
            "type": "alert",
            "event": {"alert_id": 2, "symbol": "ETH"},
        }
        assert await nothing_within(a, 0.2)
        assert await nothing_within(b, 0.2)


async def test_a_bearer_header_authenticates_too(ws_url, bob):
    headers = {"Authorization": f"Bearer {AccessToken.for_user(bob)}"}
    async with connect(f"{ws_url}/ws/alerts/", additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "subscribed"
        publish_alert(user_id=bob.pk, event={"alert_id": 5})
        assert (await receive(ws))["event"] == {"alert_id": 5}


@pytest.mark.parametrize(
    ("suffix", "code"),
    [("", "not_authenticated"), ("?token=not.a.jwt", "invalid_token")],
)
async def test_without_a_valid_login_alerts_are_refused_with_1008(
    ws_url, alice, suffix, code
):
    async with connect(f"{ws_url}/ws/alerts/{suffix}") as ws:
        assert (await receive(ws))["code"] == code
        assert (await closed_with(ws))[0] == 1008


async def test_a_token_connection_closes_when_its_token_expires(ws_url, bob):
    """Close 4401 (read as HTTP 401: refresh the token, then reconnect)."""
    token = AccessToken.for_user(bob)
    token.set_exp(lifetime=timedelta(seconds=2))
    async with connect(f"{ws_url}/ws/alerts/?token={token}") as ws:
        assert (await receive(ws))["type"] == "subscribed"
        publish_alert(user_id=bob.pk, event={"alert_id": 7})
        assert (await receive(ws))["event"] == {"alert_id": 7}
        error = await receive(ws, timeout=10)
        assert (error["type"], error["code"]) == ("error", "token_expired")
        assert (await closed_with(ws))[:2] == (4401, "token expired")
