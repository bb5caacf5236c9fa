"""Property-based run of the schema over the account, portfolio and alert routes, signed in.

Schemathesis generates requests from `/api/schema/` and sends them to the real server
(uvicorn, `live_asgi`) with a real access token; every response must be documented
(status, content type, body schema) and none may be a 500. Every check is on (what
`--checks all` runs): schema-valid requests must be accepted, schema-invalid ones refused.
On valid cases, path ids are pinned to the user's own portfolio and trade (but for
deletes), a trade's symbol is pinned to an asset that exists and each Idempotency-Key is fresh, so the
run reaches past the 404s, the "unknown asset" 400s and the "key reused" 422s (which depend
on the data and on earlier requests, not on the schema). Alert ids are pinned to alice's
alert, event and webhook the same way, and a valid case whose alert rule breaks a per-kind
rule the schema cannot state (`conditions.check_rule`) is not sent as valid.
"""

from datetime import UTC, datetime

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis.checks import CHECKS, load_all_checks

import tests.schemathesis_hooks  # noqa: F401  (registers the shared hooks)
from analytics.alerts import conditions
from analytics.alerts.models import AlertEvent
from marketpulse.errors import InvalidInput
from prices.latest import record_latest_prices
from tests import servers
from tests.factories import PASSWORD, AlertFactory, AssetFactory

pytestmark = pytest.mark.slow

ROUTES = r"^/api/v1/(portfolios|api-keys|auth|alerts)/"
load_all_checks()
# Every check schemathesis has (what `--checks all` runs on the command line).
ALL_CHECKS = [check for check in CHECKS.get_all() if not isinstance(check, type)]


def alert_case_is_valid(case, alert: dict) -> bool:  # type: ignore[no-untyped-def]
    """Whether a generated alert or webhook body keeps the rules the schema cannot
    state: the per-kind rule (for PATCH, merged into the pinned alert's) and a webhook
    URL without credentials."""
    body = case.body if isinstance(case.body, dict) else {}
    if "/webhooks/" in case.path:
        url = str(body.get("url", ""))
        return "@" not in url.split("//", 1)[-1].split("/", 1)[0]
    if case.method not in ("POST", "PUT", "PATCH") or "/events/" in case.path:
        return True
    rule = {**alert, **body} if case.method == "PATCH" else {**body}
    if case.method == "PATCH" and "kind" in body and body["kind"] != alert["kind"]:
        rule = body
    if "kind" not in rule:
        return False
    try:
        conditions.check_rule(
            {f: rule.get(f) for f in ("kind", *conditions.CONDITION_FIELDS)}
        )
        conditions.check_cooldown(rule.get("cooldown", 0))
    except InvalidInput:
        return False
    return True


@pytest.fixture
def live_asgi(server_env):  # type: ignore[no-untyped-def]
    """The real server, with rate limits out of the way: they are not what this tests."""
    env = {
        **server_env,
        "THROTTLE_RATE_USER": "1000000/min",
        "THROTTLE_RATE_LOGIN": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "ALERTS_MAX_PER_USER": "1000000",
        "WEBHOOKS_MAX_PER_USER": "1000000",
        "ALERT_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    with servers.asgi_server(env) as base_url:
        yield base_url


def test_the_schema_holds_for_signed_in_requests(live_asgi, alice):
    assert len(ALL_CHECKS) >= 10
    btc = AssetFactory(symbol="BTC", name="Bitcoin")
    record_latest_prices([(btc, 50000.0, datetime.now(UTC), "test")])
    with httpx.Client(base_url=live_asgi, timeout=10) as client:
        token = client.post(
            "/api/v1/auth/token/", json={"username": "alice", "password": PASSWORD}
        ).json()["access"]
        auth = {"Authorization": f"Bearer {token}"}
        portfolio = client.post(
            "/api/v1/portfolios/", json={"name": "Main"}, headers=auth
        ).json()["id"]
        trade = client.post(
            f"/api/v1/portfolios/{portfolio}/trades/",
            json={
                "symbol": "BTC",
                "side": "buy",
                "quantity": "1000000",
                "price": "10",
                "executed_at": "2024-01-01T00:00:00Z",
            },
            headers=auth,
        ).json()["id"]
        alert = client.post(
            "/api/v1/alerts/",
            json={"symbol": "BTC", "kind": "price", "direction": "above", "level": 1e9},
            headers=auth,
        ).json()
        webhook = client.post(
            "/api/v1/alerts/webhooks/",
            json={"url": "http://127.0.0.1:9/"},
            headers=auth,
        ).json()["id"]
    fired = AlertFactory(user=alice, asset=btc, level=1.0)
    event = AlertEvent.objects.create(
        alert=fired, user=alice, symbol="BTC", fired_at=datetime.now(UTC), price=2.0,
        value=2.0, condition={"kind": "price"}, message="BTC is above 1",
    ).pk  # fmt: skip
    pins = {"/alerts/{id}/": alert["id"], "/alerts/events/{id}/": event,
            "/alerts/webhooks/{id}/": webhook}  # fmt: skip

    schema = schemathesis.openapi.from_url(f"{live_asgi}/api/schema/").include(
        path_regex=ROUTES
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19  # every route and method of ours, tokens included
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            derandomize=True,  # the same cases on every run: CI is not a lottery
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            positive = case.meta is not None and case.meta.generation.mode.is_positive
            # Invalid cases keep their ids: a pinned id could be the very mutation that
            # made them invalid, and refusing it is what they test.
            pinned = (
                positive
                and case.path_parameters is not None
                and case.method != "DELETE"
            )
            if pinned and "portfolio_pk" in case.path_parameters:
                case.path_parameters["portfolio_pk"] = portfolio
                if "id" in case.path_parameters:
                    case.path_parameters["id"] = trade
            elif pinned and "id" in case.path_parameters and "portfolios" in case.path:
                case.path_parameters["id"] = portfolio
            elif pinned and "id" in case.path_parameters and "/alerts/" in case.path:
                route = case.path.removeprefix("/api/v1")
                prefix = max(
                    (p for p in pins if route.startswith(p.rsplit("{", 1)[0])), key=len
                )
                case.path_parameters["id"] = pins[prefix]
            if positive and "/alerts/" in case.path:
                # PATCH merges into the alert as earlier cases left it.
                now = httpx.get(
                    f"{live_asgi}/api/v1/alerts/{alert['id']}/",
                    headers=auth,
                    timeout=10,
                ).json()
                assume(alert_case_is_valid(case, now))
            if positive and isinstance(case.body, dict) and "symbol" in case.body:
                case.body["symbol"] = "btc"
            if positive and case.headers and "Idempotency-Key" in case.headers:
                # A key sent again with another body is a 422 by design: one per case.
                case.headers["Idempotency-Key"] = f"case-{calls}"
            response = case.call(base_url=live_asgi, headers=auth, timeout=10)
            calls += 1
            case.validate_response(response, checks=ALL_CHECKS)

        run()
    assert calls >= len(operations) * 5
