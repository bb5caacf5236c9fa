"""The whole flow through the real server (uvicorn, WSGI thread pool): token, API key,
idempotent trade, revocation."""

import httpx
import pytest

from tests.factories import PASSWORD, AssetFactory

pytestmark = pytest.mark.slow


def test_a_program_trades_with_an_api_key_until_it_is_revoked(live_asgi, alice):
    AssetFactory(symbol="BTC", name="Bitcoin")
    with httpx.Client(base_url=live_asgi, timeout=10) as http:
        pair = http.post(
            "/api/v1/auth/token/", json={"username": "alice", "password": PASSWORD}
        ).json()
        signed_in = {"Authorization": f"Bearer {pair['access']}"}
        created = http.post(
            "/api/v1/api-keys/", json={"name": "bot"}, headers=signed_in
        )
        assert created.status_code == 201
        program = {"X-API-Key": created.json()["key"]}

        portfolio = http.post(
            "/api/v1/portfolios/", json={"name": "Bot"}, headers=program
        )
        trades = f"/api/v1/portfolios/{portfolio.json()['id']}/trades/"
        buy = {
            "symbol": "btc",
            "side": "buy",
            "quantity": "0.25",
            "price": "64000.5",
            "fee": "1.25",
            "executed_at": "2024-03-01T12:00:00Z",
        }
        headers = {**program, "Idempotency-Key": "order-42"}
        first = http.post(trades, json=buy, headers=headers)
        retry = http.post(trades, json=buy, headers=headers)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
        listed = http.get(trades, headers=program).json()
        assert listed["count"] == 1
        assert listed["results"][0]["quantity"] == "0.25"

        revoked = http.delete(
            f"/api/v1/api-keys/{created.json()['id']}/", headers=signed_in
        )
        assert revoked.status_code == 204
        refused = http.get(trades, headers=program)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert refused.headers["x-request-id"] == refused.json()["error"]["request_id"]

        refreshed = http.post(
            "/api/v1/auth/token/refresh/", json={"refresh": pair["refresh"]}
        )
        assert refreshed.status_code == 200
        again = {"Authorization": f"Bearer {refreshed.json()['access']}"}
        assert http.get(trades, headers=again).json()["count"] == 1
