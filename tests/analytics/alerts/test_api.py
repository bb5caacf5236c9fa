"""`/api/v1/alerts/`, its events, webhooks and manual prices over HTTP: validation per
kind (400 naming the field, nothing written), owners only (404 for the others), limits."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.alerts.models import Alert, AlertEvent, WebhookEndpoint
from prices.models import ManualPrice
from tests.factories import AlertFactory, UserFactory

pytestmark = pytest.mark.django_db

ALERTS = "/api/v1/alerts/"


def error_field(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    [field] = body["details"]
    return str(field)


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "price", "direction": "above", "level": 70000},
        {"kind": "price", "direction": "below", "level": 0.5, "hysteresis": 0.01},
        {"kind": "move", "direction": "down", "percent": 5, "window": "1h"},
        {"kind": "indicator", "indicator": "rsi", "params": {"timeperiod": 14},
         "interval": "1h", "direction": "above", "level": 70},
        {"kind": "indicator", "indicator": "macd", "output": "macd_hist",
         "interval": "4h", "direction": "above", "level": 0},
        {"kind": "anomaly", "anomaly_kind": "volume"},
        {"kind": "anomaly"},
    ],
)  # fmt: skip
def test_each_kind_is_created_and_read_back(alice_client, btc, rule):
    response = alice_client.post(ALERTS, {"symbol": "btc", **rule}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["symbol"] == "BTC"
    assert {k: body[k] for k in rule} == rule
    assert body["armed"] is True
    assert body["description"].startswith("BTC")
    read = alice_client.get(f"{ALERTS}{body['id']}/").json()
    assert read == body


def test_an_indicator_alert_is_stored_with_all_its_parameters(alice_client, btc):
    response = alice_client.post(
        ALERTS,
        {"symbol": "BTC", "kind": "indicator", "indicator": "MACD", "interval": "1d",
         "output": "macd_hist", "direction": "below", "level": 0},
        format="json",
    )  # fmt: skip
    body = response.json()
    assert body["indicator"] == "macd"
    assert body["params"] == {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "price", "direction": "above"}, "level"),
        ({"kind": "price", "direction": "above", "level": -1}, "level"),
        ({"kind": "price", "direction": "above", "level": 0}, "level"),
        ({"kind": "price", "direction": "above", "level": "NaN"}, "level"),
        ({"kind": "price", "direction": "up", "level": 10}, "direction"),
        ({"kind": "price", "level": 10}, "direction"),
        ({"kind": "price", "direction": "above", "level": 10, "hysteresis": 10}, "hysteresis"),
        ({"kind": "price", "direction": "above", "level": 10, "window": "1h"}, "window"),
        ({"kind": "move", "direction": "up", "percent": 5}, "window"),
        ({"kind": "move", "direction": "up", "percent": 5, "window": "2h"}, "window"),
        ({"kind": "move", "direction": "above", "percent": 5, "window": "1h"}, "direction"),
        ({"kind": "move", "direction": "up", "percent": 0, "window": "1h"}, "percent"),
        ({"kind": "indicator", "indicator": "nosuch", "interval": "1h",
          "direction": "above", "level": 1}, "indicator"),
        ({"kind": "indicator", "indicator": "rsi", "params": {"timeperiod": 1},
          "interval": "1h", "direction": "above", "level": 1}, "params"),
        ({"kind": "indicator", "indicator": "rsi:slow", "interval": "1h",
          "direction": "above", "level": 1}, "indicator"),
        ({"kind": "indicator", "indicator": "macd", "interval": "1h",
          "direction": "above", "level": 1}, "output"),
        ({"kind": "indicator", "indicator": "rsi", "direction": "above", "level": 1},
         "interval"),
        ({"kind": "anomaly", "anomaly_kind": "nosuch"}, "anomaly_kind"),
        ({"kind": "nosuch"}, "kind"),
        ({"kind": "price", "direction": "above", "level": 1, "cooldown": -1}, "cooldown"),
        ({"kind": "price", "direction": "above", "level": 1, "channels": ["sms"]},
         "channels"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_a_400_naming_the_field_and_writes_nothing(
    alice_client, btc, rule, field
):
    response = alice_client.post(ALERTS, {"symbol": "BTC", **rule}, format="json")
    assert error_field(response) == field
    assert Alert.objects.count() == 0


def test_an_unknown_symbol_is_a_400_naming_it(alice_client, btc):
    response = alice_client.post(
        ALERTS, {"symbol": "NOPE", "kind": "anomaly"}, format="json"
    )
    assert error_field(response) == "symbol"


def test_email_needs_an_address(btc):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(UserFactory(email=""))
    rule = {"symbol": "BTC", "kind": "anomaly", "channels": ["email"]}
    assert error_field(client.post(ALERTS, rule, format="json")) == "channels"


def test_past_the_limit_a_new_alert_is_a_400(alice_client, alice, btc, settings):
    settings.ALERTS_MAX_PER_USER = 3
    AlertFactory.create_batch(3, user=alice, asset=btc)
    response = alice_client.post(
        ALERTS, {"symbol": "BTC", "kind": "anomaly"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "limit_exceeded"
    assert Alert.objects.filter(user=alice).count() == 3


def test_someone_elses_alert_is_a_404_on_every_route(alice_client, bob_client, btc):
    mine = alice_client.post(
        ALERTS, {"symbol": "BTC", "kind": "anomaly"}, format="json"
    ).json()
    url = f"{ALERTS}{mine['id']}/"
    assert bob_client.get(url).status_code == 404
    assert bob_client.patch(url, {"enabled": False}, format="json").status_code == 404
    assert bob_client.delete(url).status_code == 404
    assert bob_client.get(ALERTS).json()["results"] == []
    assert Alert.objects.get(pk=mine["id"]).enabled is True


def test_anonymous_clients_are_refused(api_client, btc):
    assert api_client.get(ALERTS).status_code == 401
    assert api_client.get(f"{ALERTS}events/").status_code == 401


def test_an_edit_checks_the_whole_rule_and_starts_it_over(alice_client, alice, btc):
    created = alice_client.post(
        ALERTS, {"symbol": "BTC", "kind": "price", "direction": "above", "level": 100},
        format="json",
    ).json()  # fmt: skip
    url = f"{ALERTS}{created['id']}/"
    bad = alice_client.patch(url, {"hysteresis": 200}, format="json")
    assert error_field(bad) == "hysteresis"
    Alert.objects.filter(pk=created["id"]).update(armed=False)
    moved = alice_client.patch(url, {"level": 150}, format="json")
    assert moved.status_code == 200
    assert moved.json()["level"] == 150
    assert moved.json()["armed"] is True  # no price known: armed for the new level
    to_move = alice_client.patch(
        url, {"kind": "move", "direction": "up", "percent": 3, "window": "4h"},
        format="json",
    )  # fmt: skip
    assert to_move.status_code == 200, to_move.content
    assert to_move.json()["level"] is None
    assert alice_client.delete(url).status_code == 204
    assert not Alert.objects.filter(pk=created["id"]).exists()


def test_events_list_only_the_owners_and_filter_by_alert(alice, bob, btc):
    from rest_framework.test import APIClient

    mine = AlertFactory(user=alice, asset=btc)
    other = AlertFactory(user=alice, asset=btc, level=200)
    theirs = AlertFactory(user=bob, asset=btc)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for n, alert in enumerate([mine, other, theirs, mine]):
        AlertEvent.objects.create(
            alert=alert, user=alert.user, symbol="BTC", fired_at=at + timedelta(n),
            price=1.0, value=1.0, condition={"kind": "price"}, message="m",
        )  # fmt: skip
    client = APIClient()
    client.force_authenticate(alice)
    listed = client.get(f"{ALERTS}events/?limit=2").json()
    assert [e["alert"] for e in listed["results"]] == [mine.pk, other.pk]
    rest = client.get(listed["next"]).json()
    assert [e["alert"] for e in rest["results"]] == [mine.pk]
    assert rest["next"] is None
    only = client.get(f"{ALERTS}events/?alert={mine.pk}").json()["results"]
    assert {e["alert"] for e in only} == {mine.pk}
    assert len(only) == 2
    assert client.get(f"{ALERTS}events/?alert={theirs.pk}").json()["results"] == []
    assert error_field(client.get(f"{ALERTS}events/?alert=x")) == "alert"
    assert error_field(client.get(f"{ALERTS}events/?cursor=junk")) == "cursor"


# --- Webhooks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
    ],
)
def test_webhooks_to_private_addresses_are_refused(alice_client, url):
    response = alice_client.post(f"{ALERTS}webhooks/", {"url": url}, format="json")
    assert error_field(response) == "url"
    assert WebhookEndpoint.objects.count() == 0


def test_a_webhook_shows_its_secret_once_and_is_the_owners(
    alice_client, bob_client, settings
):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    created = alice_client.post(
        f"{ALERTS}webhooks/", {"url": "http://127.0.0.1:9/hook"}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    url = f"{ALERTS}webhooks/{body['id']}/"
    assert "secret" not in alice_client.get(url).json()
    assert bob_client.get(url).status_code == 404
    rotated = alice_client.post(f"{url}rotate-secret/").json()
    assert rotated["secret"] != body["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated["secret"]


# --- Manual prices ------------------------------------------------------------------------

MANUAL = "/api/v1/prices/manual/"


@pytest.fixture
def operator_client(operator):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(operator)
    return client


def test_an_operator_records_a_price_that_becomes_the_latest(operator_client, btc):
    response = operator_client.post(MANUAL, {"symbol": "btc", "price": 65000.5})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["symbol"], body["price"], body["source"]) == ("BTC", 65000.5, "manual")
    assert body["applied"] is True
    latest = operator_client.get("/api/v1/prices/latest/BTC/").json()
    assert (latest["price"], latest["source"]) == (65000.5, "manual")


def test_an_older_manual_price_is_kept_but_not_applied(operator_client, btc):
    now = datetime.now(UTC)
    operator_client.post(
        MANUAL, {"symbol": "BTC", "price": 2, "as_of": now.isoformat()}
    )
    older = (now - timedelta(hours=1)).isoformat()
    body = operator_client.post(
        MANUAL, {"symbol": "BTC", "price": 1, "as_of": older}
    ).json()
    assert body["applied"] is False
    assert operator_client.get("/api/v1/prices/latest/BTC/").json()["price"] == 2
    assert ManualPrice.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"symbol": "NOPE", "price": 1}, "symbol"),
        ({"symbol": "BTC", "price": 0}, "price"),
        ({"symbol": "BTC", "price": "inf"}, "price"),
        ({"symbol": "BTC"}, "price"),
        ({"symbol": "BTC", "price": 1, "as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ({"symbol": "BTC", "price": 1, "as_of": "2026-01-01T00:00:00"}, "as_of"),
    ],
)
def test_a_bad_manual_price_is_a_400_and_changes_nothing(
    operator_client, btc, data, field
):
    assert error_field(operator_client.post(MANUAL, data, format="json")) == field
    assert ManualPrice.objects.count() == 0
    btc.refresh_from_db()
    assert btc.price_source != "manual"


def test_only_operators_record_manual_prices(alice_client, api_client, btc):
    assert alice_client.post(MANUAL, {"symbol": "BTC", "price": 1}).status_code == 403
    assert api_client.post(MANUAL, {"symbol": "BTC", "price": 1}).status_code == 401
    assert ManualPrice.objects.count() == 0
