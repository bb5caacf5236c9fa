"""Alerts end to end through the running service: the real web server (uvicorn) and a
real Celery worker, real tokens, a real WebSocket client and a real webhook receiver.

An operator posts a manual price across alice's level; alice's `/ws/alerts/` client gets
the event within a second, bob's gets nothing; the alert does not fire again until the
price has crossed back; alice's webhook receives a correctly signed POST, and a failing
endpoint is retried, then disabled."""

import time

import httpx
import orjson
import pytest

from tests import servers
from tests.analytics.alerts.receiver import verify, webhook_receiver
from tests.factories import PASSWORD
from tests.prices.realtime.wsclient import connect, nothing_within, receive

pytestmark = pytest.mark.django_db(transaction=True)


async def token(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/v1/auth/token/", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


async def wait_for(check, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await __import__("asyncio").sleep(0.1)
    raise AssertionError("not within the timeout")


async def test_a_manual_price_across_the_level_reaches_its_owner_only(
    server_env, alice, bob, operator, btc
):
    env = {**server_env, "ALERT_WEBHOOK_ALLOW_PRIVATE": "true",
           "ALERT_WEBHOOK_RETRY_BASE": "0.2", "ALERT_WEBHOOK_MAX_ATTEMPTS": "3",
           "ALERT_WEBHOOK_DISABLE_AFTER": "3", "THROTTLE_RATE_USER": "100000/min"}  # fmt: skip
    with (
        servers.asgi_server(env) as base,
        servers.celery_worker(env),
        webhook_receiver() as good,
        webhook_receiver(*[500] * 10) as bad,
    ):
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            alice_auth = bearer(await token(http, "alice"))
            operator_auth = bearer(await token(http, "operator"))
            bob_token = await token(http, "bob")
            hooks = []
            for receiver in (good, bad):
                created = await http.post(
                    "/api/v1/alerts/webhooks/", json={"url": receiver.url},
                    headers=alice_auth,
                )  # fmt: skip
                assert created.status_code == 201, created.text
                hooks.append(created.json())
            rule = {"symbol": "BTC", "kind": "price", "direction": "above",
                    "level": 70000, "channels": ["webhook"]}  # fmt: skip
            created = await http.post("/api/v1/alerts/", json=rule, headers=alice_auth)
            assert created.status_code == 201, created.text
            alert_id = created.json()["id"]
            ws_base = base.replace("http://", "ws://")

            async def price(value: float) -> dict:
                response = await http.post(
                    "/api/v1/prices/manual/", json={"symbol": "BTC", "price": value},
                    headers=operator_auth,
                )  # fmt: skip
                assert response.status_code == 201, response.text
                return dict(response.json())

            async with (
                connect(f"{ws_base}/ws/alerts/", additional_headers=alice_auth) as mine,
                connect(f"{ws_base}/ws/alerts/?token={bob_token}") as theirs,
            ):
                for ws in (mine, theirs):
                    assert (await receive(ws))["type"] == "subscribed"
                assert (await price(69000))["alerts_fired"] == 0
                sent = time.monotonic()
                assert (await price(70500))["alerts_fired"] == 1
                message = await receive(mine, timeout=1.0)
                latency = time.monotonic() - sent
                assert latency < 1.0
                assert message["type"] == "alert"
                event = message["event"]
                assert (event["alert"], event["symbol"], event["price"]) == (
                    alert_id, "BTC", 70500,
                )  # fmt: skip
                assert event["message"].startswith("BTC is above 70,000 USD")
                assert (await price(71000))["alerts_fired"] == 0  # still above: waits
                assert await nothing_within(mine, 0.5)
                await price(69500)  # back below: re-armed
                assert (await price(70001))["alerts_fired"] == 1
                assert (await receive(mine, timeout=1.0))["event"]["price"] == 70001
                assert await nothing_within(theirs, 0.3)

            events = (
                await http.get("/api/v1/alerts/events/", headers=alice_auth)
            ).json()
            assert [e["price"] for e in events["results"]] == [70001, 70500]
            bob_events = await http.get(
                "/api/v1/alerts/events/", headers=bearer(bob_token)
            )
            assert bob_events.json()["results"] == []

            # The webhooks, from the worker: two signed POSTs to the good receiver.
            await wait_for(lambda: _async(len(good.requests) >= 2))
            for headers, body in good.requests:
                verify(hooks[0]["secret"], headers, body)
            assert sorted(orjson.loads(b)["event"]["price"] for _, b in good.requests) == [
                70001, 70500,
            ]  # fmt: skip

            async def disabled():  # type: ignore[no-untyped-def]
                shown = await http.get(
                    f"/api/v1/alerts/webhooks/{hooks[1]['id']}/", headers=alice_auth
                )
                body = shown.json()
                return body if not body["enabled"] else None

            failing = await wait_for(disabled)
            assert "3 failed attempts in a row" in failing["disabled_reason"]
            assert len(bad.requests) == 3
            for headers, body in bad.requests:
                verify(hooks[1]["secret"], headers, body)


async def _async(value):  # type: ignore[no-untyped-def]
    return value
