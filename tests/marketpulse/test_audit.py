"""The audit log: each audited action leaves an entry with its actor, how they were
authenticated, the request id and the changes; `GET /api/v1/audit/` shows a user their own
trades' history and operators everything; old entries are purged."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django import forms
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from assets.models import Asset
from marketpulse.accounts.permissions import OPERATOR_GROUP
from marketpulse.audit import purge_old_entries
from marketpulse.models import ApiKey
from marketpulse.tasks import purge_audit_log
from portfolio.models import Trade
from prices.ingest.schedule import default_schedule, sync_beat_schedule
from prices.models import SyncRun
from tests.factories import PASSWORD
from tests.portfolio.helpers import new_portfolio, trade

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"


def entries_for(obj) -> list[LogEntry]:  # type: ignore[no-untyped-def]
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)),
            object_pk=str(obj.pk),
        ).order_by("pk")
    )


def signed_in(username: str) -> APIClient:
    """A client authenticated as a real one is: a JWT through the token endpoint."""
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def admin_edit(client: Client, obj, **changes):  # type: ignore[no-untyped-def]
    """Saves `obj`'s admin change form with `changes`, the rest as the form shows it."""
    meta = obj._meta
    url = f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(field, forms.SplitDateTimeField):
            data[f"{name}_0"], data[f"{name}_1"] = value.date(), value.time()
            continue
        if hasattr(value, "pk"):
            value = value.pk
        elif isinstance(value, list | tuple | set) or hasattr(value, "all"):
            value = [getattr(v, "pk", v) for v in value]
        data[name] = value
    data.update(changes)
    response = client.post(url, data, headers={"X-Request-ID": "admin-edit-1"})
    assert response.status_code == 302, response.context["adminform"].form.errors


@pytest.fixture
def admin_client_of(operator) -> Client:  # type: ignore[no-untyped-def]
    operator.is_staff = operator.is_superuser = True
    operator.save()
    client = Client()
    client.force_login(operator)
    return client


def test_trades_created_edited_and_deleted_are_logged_with_actor_and_request_id(
    alice, btc
):
    client = signed_in("alice")
    portfolio = new_portfolio(client)
    created = client.post(
        f"{portfolio}trades/", trade(), format="json",
        headers={"X-Request-ID": "req-create-1"},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    url = f"{portfolio}trades/{created.json()['id']}/"
    edited = client.patch(
        url, {"quantity": "2"}, format="json", headers={"X-Request-ID": "req-edit-1"}
    )
    assert edited.status_code == 200, edited.content
    gone = Trade.objects.get(pk=created.json()["id"])
    assert client.delete(url, headers={"X-Request-ID": "req-del-1"}).status_code == 204

    create, update, delete = entries_for(gone)
    assert [e.action for e in (create, update, delete)] == [
        LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE,
    ]  # fmt: skip
    assert {e.actor for e in (create, update, delete)} == {alice}
    assert [e.cid for e in (create, update, delete)] == [
        "req-create-1", "req-edit-1", "req-del-1",
    ]  # fmt: skip
    assert create.additional_data == {"owner": alice.pk, "via": "user"}
    old, new = update.changes_dict["quantity"]
    assert (Decimal(old), Decimal(new)) == (1, 2)


def test_an_api_key_is_named_as_the_way_the_actor_came_in(alice, btc):
    client = signed_in("alice")
    portfolio = new_portfolio(client)
    key = client.post("/api/v1/api-keys/", {"name": "bot"}).json()
    bot = APIClient()
    bot.credentials(HTTP_X_API_KEY=key["key"])
    created = bot.post(f"{portfolio}trades/", trade(), format="json")
    assert created.status_code == 201, created.content
    (entry,) = entries_for(Trade.objects.get(pk=created.json()["id"]))
    assert entry.actor == alice
    assert entry.additional_data["via"] == "api_key"
    assert entry.additional_data["api_key"] == {
        "id": key["id"],
        "prefix": ApiKey.objects.get(pk=key["id"]).prefix,
    }
    assert entry.cid == created.headers["X-Request-ID"]


def test_api_keys_created_and_revoked_are_logged_without_the_secret(alice):
    client = signed_in("alice")
    created = client.post(
        "/api/v1/api-keys/", {"name": "bot"}, headers={"X-Request-ID": "key-new"}
    )
    assert created.status_code == 201
    url = f"/api/v1/api-keys/{created.json()['id']}/"
    assert client.delete(url, headers={"X-Request-ID": "key-revoke"}).status_code in (
        200, 204,
    )  # fmt: skip
    key = ApiKey.objects.get(pk=created.json()["id"])
    create, revoke = entries_for(key)
    assert (create.action, create.cid, create.actor) == (
        LogEntry.Action.CREATE, "key-new", alice,
    )  # fmt: skip
    assert "hashed_key" not in create.changes_dict
    assert (revoke.action, revoke.cid, revoke.actor) == (
        LogEntry.Action.UPDATE, "key-revoke", alice,
    )  # fmt: skip
    assert revoke.changes_dict["revoked_at"][0] == "None"


def test_a_sync_triggered_through_the_api_is_logged_but_worker_updates_are_not(
    operator,
):
    client = signed_in("operator")
    response = client.post(
        "/api/v1/sync/", {"job": "prices", "limit": 5}, format="json",
        headers={"X-Request-ID": "sync-now"},
    )  # fmt: skip
    assert response.status_code == 202, response.content
    run = SyncRun.objects.get(pk=response.json()["id"])
    run.status = SyncRun.Status.SUCCEEDED
    run.save()  # what the worker does: not an audited change
    (entry,) = entries_for(run)
    assert (entry.action, entry.actor, entry.cid) == (
        LogEntry.Action.CREATE, operator, "sync-now",
    )  # fmt: skip
    assert entry.changes_dict["job"] == [None, "prices"]


def test_asset_edits_in_the_admin_are_logged_but_market_figures_are_not(
    admin_client_of, operator, btc
):
    btc.market_cap = 123.0
    btc.save()  # a sync's refresh of market figures
    assert [e.action for e in entries_for(btc)] == [LogEntry.Action.CREATE]
    admin_edit(admin_client_of, btc, name="Bitcoin Core")
    create, edit = entries_for(Asset.objects.get(pk=btc.pk))
    assert edit.changes_dict == {"name": ["Bitcoin", "Bitcoin Core"]}
    assert (edit.actor, edit.cid, edit.additional_data["via"]) == (
        operator, "admin-edit-1", "user",
    )  # fmt: skip
    assert create.additional_data["via"] == "system"


def test_schedule_edits_are_logged_and_beat_bookkeeping_is_not(
    admin_client_of, operator
):
    sync_beat_schedule()
    task = PeriodicTask.objects.get(name=default_schedule()[0].name)
    (created,) = entries_for(task)
    assert created.actor is None
    assert created.additional_data["via"] == "system"
    task.last_run_at, task.total_run_count = datetime.now(UTC), 5
    task.save()  # what beat writes on every run
    assert len(entries_for(task)) == 1
    admin_edit(admin_client_of, task, enabled="", expire_seconds="120")
    _, edit = entries_for(task)
    assert edit.actor == operator
    assert edit.cid == "admin-edit-1"
    assert set(edit.changes_dict) == {"enabled", "expire_seconds"}


def test_schedules_disabled_from_the_admin_list_are_logged(admin_client_of, operator):
    sync_beat_schedule()
    task = PeriodicTask.objects.get(name=default_schedule()[0].name)
    assert task.enabled
    response = admin_client_of.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [task.pk]},
        headers={"X-Request-ID": "bulk-off"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert not task.enabled
    _, edit = entries_for(task)
    assert (edit.actor, edit.cid) == (operator, "bulk-off")
    assert edit.changes_dict["enabled"] == ["True", "False"]


def test_role_and_user_changes_are_logged(admin_client_of, operator, bob):
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    admin_edit(admin_client_of, bob, groups=[group.pk], email="robert@example.org")
    entries = entries_for(User.objects.get(pk=bob.pk))
    changed = [e for e in entries if e.cid == "admin-edit-1"]
    assert changed
    assert {e.actor for e in changed} == {operator}
    fields = {name for e in changed for name in e.changes_dict}
    assert {"groups", "email"} <= fields
    assert all("password" not in e.changes_dict for e in entries)
    (created,) = [e for e in entries if e.action == LogEntry.Action.CREATE]
    assert (created.actor, created.cid, created.additional_data["via"]) == (
        None, None, "system",
    )  # fmt: skip


def test_a_user_reads_their_own_trades_history_and_operators_everything(
    alice, bob, operator, btc
):
    alice_api = signed_in("alice")
    portfolio = new_portfolio(alice_api)
    made = alice_api.post(f"{portfolio}trades/", trade(), format="json").json()
    bob_api = signed_in("bob")
    bob_api.post(f"{new_portfolio(bob_api)}trades/", trade(), format="json")

    mine = alice_api.get(AUDIT).json()
    assert mine["count"] == 1
    (entry,) = mine["results"]
    assert entry["object"] == {
        "type": "portfolio.trade", "id": str(made["id"]), "repr": entry["object"]["repr"],
    }  # fmt: skip
    assert entry["actor"] == {"username": "alice", "via": "user"}
    assert entry["action"] == "create"
    assert entry["request_id"]
    assert entry["changes"]["side"] == ["None", "buy"]

    everything = signed_in("operator").get(AUDIT, {"type": "portfolio.trade"}).json()
    assert everything["count"] == 2
    assert APIClient().get(AUDIT).status_code == 401


def test_entries_past_retention_are_purged_by_the_scheduled_task(settings, alice):
    settings.AUDIT_RETENTION_DAYS = 30
    client = signed_in("alice")
    client.post("/api/v1/api-keys/", {"name": "old"})
    client.post("/api/v1/api-keys/", {"name": "new"})
    kept = LogEntry.objects.count()
    old, new = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(ApiKey)
    ).order_by("pk")
    LogEntry.objects.filter(pk=old.pk).update(
        timestamp=datetime.now(UTC) - timedelta(days=31)
    )
    assert purge_audit_log() == 1
    assert LogEntry.objects.count() == kept - 1
    assert not LogEntry.objects.filter(pk=old.pk).exists()
    assert LogEntry.objects.filter(pk=new.pk).exists()
    assert purge_old_entries() == 0
    (entry,) = [
        e for e in default_schedule() if e.task == "marketpulse.purge_audit_log"
    ]
    assert entry.cron


def test_operators_browse_the_log_in_the_admin_with_filters(admin_client_of, alice):
    signed_in("alice").post(
        "/api/v1/api-keys/", {"name": "bot"}, headers={"X-Request-ID": "find-me"}
    )
    page = admin_client_of.get("/admin/auditlog/logentry/")
    assert page.status_code == 200
    assert page.context["cl"].has_filters
    filtered = admin_client_of.get("/admin/auditlog/logentry/", {"cid": "find-me"})
    assert filtered.status_code == 200
    assert [e.cid for e in filtered.context["cl"].result_list] == ["find-me"]


def test_alerts_created_edited_and_deleted_are_logged_for_their_owner_only(
    alice, bob, operator, btc
):
    from analytics.alerts.models import Alert

    alice_api = signed_in("alice")
    created = alice_api.post(
        "/api/v1/alerts/",
        {"symbol": "BTC", "kind": "price", "direction": "above", "level": 70000},
        format="json",
        headers={"X-Request-ID": "alert-create-1"},
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/alerts/{created.json()['id']}/"
    edited = alice_api.patch(
        url, {"level": 71000}, format="json", headers={"X-Request-ID": "alert-edit-1"}
    )
    assert edited.status_code == 200, edited.content
    gone = Alert.objects.get(pk=created.json()["id"])
    deleted = alice_api.delete(url, headers={"X-Request-ID": "alert-del-1"})
    assert deleted.status_code == 204

    create, update, delete = entries_for(gone)
    assert [e.action for e in (create, update, delete)] == [
        LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE,
    ]  # fmt: skip
    assert {e.actor for e in (create, update, delete)} == {alice}
    assert [e.cid for e in (create, update, delete)] == [
        "alert-create-1", "alert-edit-1", "alert-del-1",
    ]  # fmt: skip
    assert create.additional_data == {"owner": alice.pk, "via": "user"}
    assert update.changes_dict["level"] == ["70000.0", "71000.0"]
    # The engine's state is not the owner's edit.
    assert not {"armed", "state_at", "fired_count", "updated_at"} & set(
        create.changes_dict
    )

    mine = alice_api.get(AUDIT, {"type": "alerts.alert"}).json()
    assert [e["action"] for e in mine["results"]] == ["delete", "update", "create"]
    assert signed_in("bob").get(AUDIT, {"type": "alerts.alert"}).json()["count"] == 0
    everything = signed_in("operator").get(AUDIT, {"type": "alerts.alert"}).json()
    assert everything["count"] == 3


def test_manual_prices_are_logged_with_the_operator_and_request_id(operator, btc):
    from prices.models import ManualPrice

    response = signed_in("operator").post(
        "/api/v1/prices/manual/",
        {"symbol": "BTC", "price": 65000.5},
        format="json",
        headers={"X-Request-ID": "manual-1"},
    )
    assert response.status_code == 201, response.content
    (entry,) = entries_for(ManualPrice.objects.get())
    assert entry.action == LogEntry.Action.CREATE
    assert (entry.actor, entry.cid) == (operator, "manual-1")
    assert entry.changes_dict["price"] == ["None", "65000.5"]
