"""The management API through the test client: projects, webhooks, test sends, deliveries,
retries, access and the OpenAPI document, checked against the responses it describes
(SPEC §4, §5, §6)."""
from __future__ import annotations

import base64
import json
import re
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from webhooks.auth import create_token, create_user
from webhooks.delivery.signing import sign
from webhooks.events import EVENT_TYPES
from webhooks.exceptions import Invalid
from webhooks.extensions import db
from webhooks.models import ApiToken, Delivery, DeliveryAttempt, Event, Project, User, Webhook

from .helpers import assert_error

API = "/api/v1"
START = "2026-03-22T12:00:00.000Z"  # the FakeClock's start, in the wire format
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
WEBHOOK_FIELDS = {"id", "projectId", "url", "events", "active", "standardWebhooks",
                  "consecutiveFailures",
                  "deactivatedAt", "deactivationReason", "createdAt", "updatedAt"}
DELIVERY_FIELDS = {"id", "webhookId", "eventId", "event", "example", "status", "httpCode",
                   "attempts", "createdAt", "nextAttemptAt", "completedAt"}
ATTEMPT_FIELDS = {"attemptedAt", "httpCode", "durationMs", "error", "responseBody"}
TEST_BODY_KEYS = ["event", "timestamp", "webhookId", "goalId", "initiatorId"]
READ_WRITE = "webhooks:read,webhooks:write"


# --- helpers -----------------------------------------------------------------------------------

def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def count(model, *where) -> int:
    """Rows of `model` now in the database (a fresh transaction, ended at once)."""
    db.session.rollback()
    value = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.rollback()
    return value


def webhook_row(webhook_id: int) -> Webhook:
    """The webhook as the database has it now."""
    db.session.rollback()
    return db.session.get(Webhook, webhook_id, populate_existing=True)


def set_webhook(webhook_id: int, **values) -> None:
    db.session.execute(update(Webhook).where(Webhook.id == webhook_id).values(**values))
    db.session.commit()


def cursor_for(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def create_hook(client, auth_headers, project, receiver):
    """Create a webhook on project 774 (the receiver, every event by default); returns its JSON."""
    def create(url: str | None = None, events=EVENT_TYPES) -> dict:
        r = client.post(f"{API}/projects/774/webhooks", headers=auth_headers,
                        json={"url": url or receiver.url(), "events": list(events)})
        assert r.status_code == 201, r.json
        return r.json

    return create


@pytest.fixture
def hook(create_hook) -> dict:
    return create_hook()


@pytest.fixture
def send_event(client, auth_headers):
    """Ingest a task.created for project 774; returns the event id."""
    def send(task_id: int = 1) -> str:
        r = client.post(f"{API}/events", headers=auth_headers,
                        json={"event": "task.created", "task": {"id": task_id, "goalId": 774}})
        assert r.status_code == 202, r.json
        return r.json["eventId"]

    return send


@pytest.fixture
def deliveries(client, auth_headers):
    """The webhook's deliveries as the API lists them (one page of up to 100)."""
    def listed(webhook_id: int, **params) -> list[dict]:
        r = client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=auth_headers,
                       query_string={"limit": 100, **params})
        assert r.status_code == 200, r.json
        return r.json["items"]

    return listed


@pytest.fixture
def fail_cycle(receiver, clock, dispatch):
    """Run a pending delivery through its three failing attempts (10 s and 20 s apart)."""
    def run() -> None:
        receiver.default = 500
        dispatch()
        clock.advance(10)
        dispatch()
        clock.advance(20)
        dispatch()

    return run


@pytest.fixture
def member(app, clock, project):
    """A non-admin user who belongs to project 775 only (774 exists but is not theirs)."""
    other = Project(id=775, name="Other", created_at=clock(), updated_at=clock())
    user = create_user(db.session, "member@example.com", "member password", False, clock())
    other.members.append(user)
    db.session.add(other)
    db.session.commit()
    return user


# --- projects ----------------------------------------------------------------------------------

def test_admin_token_creates_reads_renames_lists_and_deletes_a_project(client, auth_headers,
                                                                       clock):
    r = client.post(f"{API}/projects", headers=auth_headers, json={"id": 9001, "name": " Backend "})
    assert r.status_code == 201
    assert r.json == {"id": 9001, "name": "Backend", "notifyUrl": None, "createdAt": START,
                      "updatedAt": START}
    assert client.get(f"{API}/projects/9001", headers=auth_headers).json == r.json

    clock.advance(5)
    r = client.patch(f"{API}/projects/9001", headers=auth_headers, json={"name": "Core"})
    assert r.status_code == 200
    assert (r.json["name"], r.json["createdAt"], r.json["updatedAt"]) == (
        "Core", START, "2026-03-22T12:00:05.000Z")
    listed = client.get(f"{API}/projects", headers=auth_headers).json
    assert [p["name"] for p in listed["items"] if p["id"] == 9001] == ["Core"]

    r = client.delete(f"{API}/projects/9001", headers=auth_headers)
    assert r.status_code == 204 and r.data == b""
    assert_error(client.get(f"{API}/projects/9001", headers=auth_headers), 404)
    assert count(Project, Project.id == 9001) == 0


def test_creating_an_existing_project_is_a_conflict(client, auth_headers, project):
    r = client.post(f"{API}/projects", headers=auth_headers, json={"id": 774, "name": "Again"})
    assert_error(r, 409, "id")
    assert db.session.get(Project, 774).name == "TaskView"


@pytest.mark.parametrize("body, field", [
    ({"name": "No id"}, "id"),
    ({"id": "seven", "name": "Bad id"}, "id"),
    ({"id": True, "name": "Bool id"}, "id"),
    ({"id": 1.5, "name": "Float id"}, "id"),
    ({"id": 2 ** 63, "name": "Too big"}, "id"),
    ({"id": 5}, "name"),
    ({"id": 5, "name": ""}, "name"),
    ({"id": 5, "name": "   "}, "name"),
    ({"id": 5, "name": "x" * 201}, "name"),
    ({"id": 5, "name": 42}, "name"),
    ({"id": 5, "name": "a\u0000b"}, "name"),
    ({"id": 5, "name": "ok", "owner": "me"}, "owner"),
])
def test_invalid_project_is_refused_naming_the_field(client, auth_headers, body, field):
    assert_error(client.post(f"{API}/projects", headers=auth_headers, json=body), 422, field)
    assert count(Project) == 0


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": None}, "name"), ({"id": 775}, "id"),
])
def test_invalid_project_rename_is_refused(client, auth_headers, project, body, field):
    r = client.patch(f"{API}/projects/774", headers=auth_headers, json=body)
    assert_error(r, 422, field)
    db.session.rollback()
    assert db.session.get(Project, 774).name == "TaskView"


@pytest.mark.parametrize("method, path, body", [
    ("post", "/projects", {"id": 9002, "name": "New"}),
    ("patch", "/projects/774", {"name": "Renamed"}),
    ("delete", "/projects/774", None),
])
def test_projects_write_is_refused_without_the_scope_or_an_admin(client, make_token, admin,
                                                                 project, method, path, body):
    without_scope = make_token("events:write,webhooks:read,webhooks:write")
    demoted = make_token()  # made while its user was an admin
    admin.is_admin = False
    db.session.commit()
    for token in (without_scope, demoted):
        r = getattr(client, method)(API + path, headers=bearer(token), json=body)
        assert "projects:write" in assert_error(r, 403)["message"]
    assert count(Project) == 1
    assert db.session.get(Project, 774).name == "TaskView"


def test_projects_write_cannot_be_given_to_a_members_token(member, clock):
    with pytest.raises(Invalid) as refused:
        create_token(db.session, member, "sneaky", "projects:write", None, None, clock())
    assert refused.value.field == "scopes"


def test_deleting_a_project_deletes_its_webhooks_events_and_deliveries(
        client, auth_headers, hook, send_event, dispatch):
    send_event()
    dispatch()
    assert count(DeliveryAttempt) == 1
    assert client.delete(f"{API}/projects/774", headers=auth_headers).status_code == 204
    assert [count(m) for m in (Webhook, Event, Delivery, DeliveryAttempt)] == [0, 0, 0, 0]


def test_project_list_pages_by_id_without_duplicates(client, auth_headers, clock):
    ids = [-3, 1, 774, 2 ** 40, 12, 99]
    for project_id in ids:
        db.session.add(Project(id=project_id, name=f"P{project_id}", created_at=clock(),
                               updated_at=clock()))
    db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(f"{API}/projects", headers=auth_headers,
                       query_string={"limit": 4, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        seen += [p["id"] for p in r.json["items"]]
        pages += 1
        cursor = r.json["nextCursor"]
        if cursor is None:
            break
    assert seen == sorted(ids) and pages == 2


# --- webhooks: create, read, change -------------------------------------------------------------

def test_created_webhook_shows_its_secret_once(client, auth_headers, project, receiver):
    r = client.post(f"{API}/projects/774/webhooks", headers=auth_headers, json={
        "url": receiver.url(), "events": ["sprint.deleted", "task.created", "task.created"]})
    assert r.status_code == 201
    created = r.json
    assert set(created) == WEBHOOK_FIELDS | {"secret"}
    assert created["secret"].startswith("whsec_") and len(created["secret"]) >= 40
    assert created | {"id": 0, "secret": ""} == {
        "id": 0, "projectId": 774, "url": receiver.url(),
        "events": ["task.created", "sprint.deleted"],
        "active": True, "standardWebhooks": False, "consecutiveFailures": 0,
        "deactivatedAt": None, "deactivationReason": None, "createdAt": START,
        "updatedAt": START, "secret": ""}

    shown = client.get(f"{API}/webhooks/{created['id']}", headers=auth_headers).json
    listed = client.get(f"{API}/projects/774/webhooks", headers=auth_headers).json
    patched = client.patch(f"{API}/webhooks/{created['id']}", headers=auth_headers, json={}).json
    for body in (shown, listed["items"][0], patched):
        assert set(body) == WEBHOOK_FIELDS
        assert created["secret"] not in json.dumps(body)
    assert listed["nextCursor"] is None
    assert created["secret"] not in webhook_row(created["id"]).secret_encrypted


VALID_URL = "http://127.0.0.1:9/hook"


@pytest.mark.parametrize("body, field, says", [
    ({"url": "ftp://127.0.0.1/hook", "events": ["task.created"]}, "url", "http"),
    ({"url": "javascript:alert(1)", "events": ["task.created"]}, "url", "http"),
    ({"url": "", "events": ["task.created"]}, "url", "URL"),
    ({"url": "   ", "events": ["task.created"]}, "url", "URL"),
    ({"url": 42, "events": ["task.created"]}, "url", "url"),
    ({"url": "http://user:pw@127.0.0.1/hook", "events": ["task.created"]}, "url", "password"),
    ({"url": "http://127.0.0.1/a\u0000b", "events": ["task.created"]}, "url", "control"),
    ({"events": ["task.created"]}, "url", "required"),
    ({"url": VALID_URL, "events": ["task.exploded"]}, "events", "task.exploded"),
    ({"url": VALID_URL, "events": ["webhook.test"]}, "events", "test"),
    ({"url": VALID_URL, "events": []}, "events", "at least one"),
    ({"url": VALID_URL, "events": "task.created"}, "events", "list"),
    ({"url": VALID_URL, "events": [1]}, "events", "list"),
    ({"url": VALID_URL}, "events", "required"),
    ({"url": VALID_URL, "events": ["task.created"], "secret": "mine"}, "secret", "unknown"),
    ({"url": VALID_URL, "events": ["task.created"], "active": False}, "active", "unknown"),
])
def test_invalid_webhook_is_refused_naming_the_field(client, auth_headers, project, body, field,
                                                     says):
    r = client.post(f"{API}/projects/774/webhooks", headers=auth_headers, json=body)
    assert says in assert_error(r, 422, field)["message"]
    assert count(Webhook) == 0


@pytest.mark.parametrize("url, kind", [
    ("http://10.0.0.1/hook", "private"),
    ("http://192.168.1.20:8080/hook", "private"),
    ("https://8.8.8.8/hook", "external"),
    ("http://[fd00::1]/hook", "private"),
])
def test_url_outside_allowed_hosts_is_refused_naming_the_setting(client, auth_headers, hook,
                                                                 url, kind):
    r = client.post(f"{API}/projects/774/webhooks", headers=auth_headers,
                    json={"url": url, "events": ["task.created"]})
    message = assert_error(r, 422, "url")["message"]
    assert "WEBHOOKS_ALLOWED_HOSTS" in message and kind in message
    r = client.patch(f"{API}/webhooks/{hook['id']}", headers=auth_headers, json={"url": url})
    assert "WEBHOOKS_ALLOWED_HOSTS" in assert_error(r, 422, "url")["message"]
    assert count(Webhook) == 1
    assert webhook_row(hook["id"]).url == hook["url"]


def test_patch_changes_url_events_and_active(client, auth_headers, hook, receiver, clock):
    path = f"{API}/webhooks/{hook['id']}"
    clock.advance(1)
    r = client.patch(path, headers=auth_headers, json={
        "url": receiver.url("/other"), "events": ["sprint.completed", "task.deleted"]})
    assert r.status_code == 200
    assert (r.json["url"], r.json["events"], r.json["updatedAt"]) == (
        receiver.url("/other"), ["task.deleted", "sprint.completed"], "2026-03-22T12:00:01.000Z")
    assert r.json["createdAt"] == START

    clock.advance(1)
    off = client.patch(path, headers=auth_headers, json={"active": False}).json
    assert (off["active"], off["deactivatedAt"]) == (False, "2026-03-22T12:00:02.000Z")
    assert off["deactivationReason"]
    on = client.patch(path, headers=auth_headers, json={"active": True}).json
    assert (on["active"], on["deactivatedAt"], on["deactivationReason"]) == (True, None, None)
    assert client.get(path, headers=auth_headers).json == on


@pytest.mark.parametrize("body, field", [
    ({"url": "gopher://127.0.0.1/"}, "url"),
    ({"url": ""}, "url"),
    ({"url": None}, "url"),
    ({"events": []}, "events"),
    ({"events": ["task.created", "webhook.test"]}, "events"),
    ({"events": None}, "events"),
    ({"active": "yes"}, "active"),
    ({"active": 1}, "active"),
    ({"active": None}, "active"),
    ({"secret": "mine"}, "secret"),
    ({"projectId": 775}, "projectId"),
    ({"url": "http://127.0.0.1:1/new", "active": "no"}, "active"),
])
def test_invalid_patch_is_refused_and_changes_nothing(client, auth_headers, hook, body, field):
    path = f"{API}/webhooks/{hook['id']}"
    assert_error(client.patch(path, headers=auth_headers, json=body), 422, field)
    row = webhook_row(hook["id"])  # what was committed (the rollback ends the shared session)
    assert (row.url, row.event_list, row.active) == (hook["url"], hook["events"], True)
    after = client.get(path, headers=auth_headers).json
    assert after == {k: v for k, v in hook.items() if k != "secret"}


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"url"'])
def test_body_that_is_not_a_json_object_is_a_400(client, auth_headers, hook, body):
    for method, path in (("post", "/projects/774/webhooks"), ("patch", f"/webhooks/{hook['id']}"),
                         ("post", "/projects"), ("patch", "/projects/774")):
        r = getattr(client, method)(API + path, headers=auth_headers, data=body,
                                    content_type="application/json")
        assert_error(r, 400)
    assert count(Webhook) == 1 and count(Project) == 1


@pytest.mark.parametrize("config_overrides", [{"WEBHOOKS_MAX_CONSECUTIVE_FAILURES": 1}])
def test_turning_a_webhook_back_on_keeps_its_failure_count(client, auth_headers, hook, receiver,
                                                           send_event, fail_cycle, dispatch):
    path = f"{API}/webhooks/{hook['id']}"
    send_event()
    fail_cycle()
    off = client.get(path, headers=auth_headers).json
    assert (off["active"], off["consecutiveFailures"]) == (False, 1)
    assert off["deactivatedAt"] and "consecutive" in off["deactivationReason"]

    on = client.patch(path, headers=auth_headers, json={"active": True}).json
    assert (on["active"], on["consecutiveFailures"], on["deactivatedAt"]) == (True, 1, None)

    receiver.default = 200  # the next successful delivery is what resets it
    send_event()
    dispatch()
    assert client.get(path, headers=auth_headers).json["consecutiveFailures"] == 0


def test_webhook_list_pages_by_id(client, auth_headers, create_hook):
    ids = [create_hook()["id"] for _ in range(5)]
    first = client.get(f"{API}/projects/774/webhooks?limit=3", headers=auth_headers).json
    rest = client.get(f"{API}/projects/774/webhooks", headers=auth_headers,
                      query_string={"limit": 3, "cursor": first["nextCursor"]}).json
    assert [w["id"] for w in first["items"] + rest["items"]] == ids
    assert rest["nextCursor"] is None


# --- webhooks: delete, rotate -------------------------------------------------------------------

def test_deleting_a_webhook_deletes_its_deliveries_and_attempts(client, auth_headers, hook,
                                                                create_hook, send_event, dispatch,
                                                                deliveries):
    kept = create_hook()
    send_event()
    send_event(2)
    dispatch()
    mine = [d["id"] for d in deliveries(hook["id"])]
    assert count(Delivery, Delivery.webhook_id == hook["id"]) == 2
    assert count(DeliveryAttempt, DeliveryAttempt.delivery_id.in_(mine)) == 2

    r = client.delete(f"{API}/webhooks/{hook['id']}", headers=auth_headers)
    assert r.status_code == 204 and r.data == b""
    assert_error(client.get(f"{API}/webhooks/{hook['id']}", headers=auth_headers), 404)
    assert_error(client.get(f"{API}/deliveries/{mine[0]}", headers=auth_headers), 404)
    assert_error(client.delete(f"{API}/webhooks/{hook['id']}", headers=auth_headers), 404)
    assert count(Webhook, Webhook.id == hook["id"]) == 0
    assert count(Delivery, Delivery.webhook_id == hook["id"]) == 0
    assert count(DeliveryAttempt, DeliveryAttempt.delivery_id.in_(mine)) == 0
    assert count(Delivery, Delivery.webhook_id == kept["id"]) == 2  # the other webhook's stay
    assert count(DeliveryAttempt) == 2


def test_rotated_secret_signs_the_next_delivery(client, auth_headers, hook, receiver, send_event,
                                                dispatch):
    r = client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=auth_headers)
    assert r.status_code == 200 and set(r.json) == {"secret"}
    new = r.json["secret"]
    assert new.startswith("whsec_") and new != hook["secret"]
    assert new not in json.dumps(client.get(f"{API}/webhooks/{hook['id']}",
                                            headers=auth_headers).json)
    send_event()
    dispatch()
    (request,) = receiver.wait_for(1)
    assert request.headers["X-Webhook-Signature"] == sign(request.body, new)
    assert request.headers["X-Webhook-Signature"] != sign(request.body, hook["secret"])


# --- test sends ----------------------------------------------------------------------------------

def test_test_send_posts_a_signed_webhook_test_body(client, auth_headers, hook, receiver,
                                                    deliveries):
    r = client.post(f"{API}/webhooks/{hook['id']}/test", headers=auth_headers)
    assert r.status_code == 200 and set(r.json) == {"delivery"}
    result = r.json["delivery"]
    (request,) = receiver.wait_for(1)
    body = json.loads(request.body)
    assert list(body) == TEST_BODY_KEYS
    assert body == {"event": "webhook.test", "timestamp": START, "webhookId": hook["id"],
                    "goalId": 774, "initiatorId": None}
    assert request.body == json.dumps(body, separators=(",", ":")).encode()
    assert request.headers["X-Webhook-Signature"] == sign(request.body, hook["secret"])
    assert request.headers["X-Webhook-Event"] == "webhook.test"
    assert request.headers["X-Webhook-Delivery"] == str(result["id"])

    assert set(result) == DELIVERY_FIELDS | {"durationMs", "error"}
    assert {k: result[k] for k in ("webhookId", "event", "status", "httpCode", "attempts",
                                   "nextAttemptAt", "error")} == {
        "webhookId": hook["id"], "event": "webhook.test", "status": "success", "httpCode": 200,
        "attempts": 1, "nextAttemptAt": None, "error": None}
    assert isinstance(result["durationMs"], int) and result["durationMs"] >= 0
    assert result["completedAt"] == START
    listed = deliveries(hook["id"])
    assert [(d["id"], d["event"], d["status"]) for d in listed] == [
        (result["id"], "webhook.test", "success")]


@pytest.mark.parametrize("answer, code, error", [
    (500, 500, "HTTP 500"),
    (("status", 404, b"gone"), 404, "HTTP 404"),
    (("redirect", "http://127.0.0.1:9/elsewhere"), 302, "redirect"),
])
def test_test_send_reports_a_failed_answer_and_is_never_retried(
        client, auth_headers, hook, receiver, clock, dispatch, answer, code, error):
    set_webhook(hook["id"], consecutive_failures=3)
    receiver.script.append(answer)
    r = client.post(f"{API}/webhooks/{hook['id']}/test", headers=auth_headers)
    assert r.status_code == 200
    result = r.json["delivery"]
    assert (result["status"], result["httpCode"], result["attempts"]) == ("failed", code, 1)
    assert error in result["error"]
    assert result["nextAttemptAt"] is None and isinstance(result["durationMs"], int)

    clock.advance(3600)
    assert dispatch() == 0
    assert len(receiver.requests) == 1
    detail = client.get(f"{API}/deliveries/{result['id']}", headers=auth_headers).json
    assert (detail["status"], detail["attempts"], len(detail["attemptLog"])) == ("failed", 1, 1)
    assert webhook_row(hook["id"]).consecutive_failures == 3


def test_test_send_to_nothing_listening_reports_the_connection_error(client, auth_headers,
                                                                     create_hook):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = create_hook(url=f"http://127.0.0.1:{port}/hook")
    result = client.post(f"{API}/webhooks/{hook['id']}/test", headers=auth_headers).json["delivery"]
    assert (result["status"], result["httpCode"]) == ("failed", None)
    assert "refused" in result["error"] or "connect" in result["error"]


def test_test_send_works_while_inactive_and_leaves_it_inactive(client, auth_headers, hook,
                                                               receiver):
    path = f"{API}/webhooks/{hook['id']}"
    client.patch(path, headers=auth_headers, json={"active": False})
    r = client.post(f"{path}/test", headers=auth_headers)
    assert (r.status_code, r.json["delivery"]["httpCode"]) == (200, 200)
    assert len(receiver.wait_for(1)) == 1
    assert client.get(path, headers=auth_headers).json["active"] is False


@pytest.mark.parametrize("answer", [200, 500])
def test_test_send_leaves_the_failure_count_alone(client, auth_headers, hook, receiver, answer):
    set_webhook(hook["id"], consecutive_failures=4)
    receiver.default = answer
    r = client.post(f"{API}/webhooks/{hook['id']}/test", headers=auth_headers)
    assert r.json["delivery"]["httpCode"] == answer
    assert client.get(f"{API}/webhooks/{hook['id']}",
                      headers=auth_headers).json["consecutiveFailures"] == 4


# --- delivery history -------------------------------------------------------------------------

def test_deliveries_are_listed_newest_first_and_filtered_by_status(
        hook, send_event, dispatch, receiver, clock, deliveries):
    send_event(1)
    dispatch()  # success
    receiver.default = 500
    send_event(2)
    dispatch()  # first attempt failed: pending
    send_event(3)  # never attempted yet
    ids = [d["id"] for d in deliveries(hook["id"])]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    newest, middle, oldest = ids
    assert [d["id"] for d in deliveries(hook["id"], status="success")] == [oldest]
    assert [d["id"] for d in deliveries(hook["id"], status="pending")] == [newest, middle]
    assert deliveries(hook["id"], status="failed") == []

    for delay in (10, 20, 20):  # the middle one fails at 12:00:30, the newest at 12:00:50
        clock.advance(delay)
        dispatch()
    assert [d["id"] for d in deliveries(hook["id"], status="failed")] == [newest, middle]
    assert [(d["status"], d["attempts"]) for d in deliveries(hook["id"])] == [
        ("failed", 3), ("failed", 3), ("success", 1)]


@pytest.mark.parametrize("limit, status", [(1, None), (3, None), (4, "pending"), (100, None)])
def test_cursor_pages_through_every_delivery_once(client, auth_headers, hook, send_event,
                                                  limit, status):
    for task_id in range(7):
        send_event(task_id)
    expected = [d.id for d in db.session.scalars(
        select(Delivery).where(Delivery.webhook_id == hook["id"]).order_by(Delivery.id.desc()))]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"status": status} if status else {}),
                  **({"cursor": cursor} if cursor else {})}
        r = client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=auth_headers,
                       query_string=params)
        assert r.status_code == 200
        assert 1 <= len(r.json["items"]) <= limit
        seen += [d["id"] for d in r.json["items"]]
        pages += 1
        cursor = r.json["nextCursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert seen == expected and len(expected) == 7
    assert pages == -(-7 // limit)


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": -1}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"limit": "2.5"}, "limit"),
    ({"status": "done"}, "status"),
    ({"status": "PENDING"}, "status"),
    ({"status": ""}, "status"),
    ({"cursor": "!!not-a-cursor!!"}, "cursor"),
    ({"cursor": cursor_for("offset:5")}, "cursor"),
    ({"cursor": cursor_for("id:five")}, "cursor"),
    ({"cursor": cursor_for("id:" + "9" * 30)}, "cursor"),
])
def test_bad_list_parameters_are_a_422(client, auth_headers, hook, params, field):
    for path in (f"/webhooks/{hook['id']}/deliveries", "/projects", "/projects/774/webhooks"):
        if field == "status" and "deliveries" not in path:
            continue
        r = client.get(API + path, headers=auth_headers, query_string=params)
        assert_error(r, 422, field)


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(client, auth_headers, hook, limit):
    for path in (f"/webhooks/{hook['id']}/deliveries", "/projects", "/projects/774/webhooks"):
        r = client.get(API + path, headers=auth_headers, query_string={"limit": limit})
        assert r.status_code == 200 and len(r.json["items"]) <= limit


def test_delivery_detail_shows_the_payload_and_attempts_oldest_first(
        client, auth_headers, hook, receiver, clock, dispatch):
    event = {"event": "task.updated", "task": {"id": 5, "goalId": 774, "tags": [1, 3]},
             "changes": {"statusId": 5}, "initiatorId": 1}
    assert client.post(f"{API}/events", headers=auth_headers, json=event).status_code == 202
    receiver.script.extend([500, ("status", 503, b"busy")])
    dispatch()
    clock.advance(10)
    dispatch()
    clock.advance(20)
    dispatch()
    requests = receiver.wait_for(3)
    (listed,) = client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=auth_headers).json[
        "items"]

    r = client.get(f"{API}/deliveries/{listed['id']}", headers=auth_headers)
    assert r.status_code == 200
    detail = r.json
    assert set(detail) == DELIVERY_FIELDS | {"payload", "attemptLog"}
    assert {k: detail[k] for k in DELIVERY_FIELDS} == listed
    assert (detail["status"], detail["httpCode"], detail["attempts"]) == ("success", 200, 3)
    assert detail["completedAt"] == "2026-03-22T12:00:30.000Z" and detail["nextAttemptAt"] is None
    assert isinstance(detail["payload"], dict)
    assert detail["payload"] == json.loads(requests[0].body)
    assert list(detail["payload"]) == ["event", "timestamp", "task", "changes", "initiatorId"]
    log = detail["attemptLog"]
    assert all(set(a) == ATTEMPT_FIELDS for a in log)
    assert [(a["attemptedAt"], a["httpCode"], a["responseBody"]) for a in log] == [
        (START, 500, "ok"), ("2026-03-22T12:00:10.000Z", 503, "busy"),
        ("2026-03-22T12:00:30.000Z", 200, "ok")]
    assert [a["error"] for a in log] == ["HTTP 500", "HTTP 503", None]
    assert all(isinstance(a["durationMs"], int) and a["durationMs"] >= 0 for a in log)


def test_unknown_delivery_is_a_404(client, auth_headers, hook):
    for path in ("/deliveries/123456", "/deliveries/123456/retry", "/deliveries/abc"):
        method = client.post if path.endswith("retry") else client.get
        assert_error(method(API + path, headers=auth_headers), 404)


@pytest.mark.parametrize("path", [
    "/projects/{big}", "/projects/{big}/webhooks", "/webhooks/2147483648", "/webhooks/{big}",
    "/webhooks/-2147483649/deliveries", "/deliveries/{big}", "/webhooks/1e3", "/projects/x",
])
def test_ids_that_cannot_exist_are_404(client, auth_headers, hook, path):
    r = client.get(API + path.format(big=2 ** 63), headers=auth_headers)
    assert_error(r, 404)


# --- manual retry ---------------------------------------------------------------------------------

def test_retry_is_a_409_unless_the_delivery_failed(client, auth_headers, hook, send_event,
                                                   dispatch, deliveries):
    send_event(1)
    dispatch()
    send_event(2)
    pending, success = deliveries(hook["id"])
    assert (pending["status"], success["status"]) == ("pending", "success")
    for delivery in (pending, success):
        r = client.post(f"{API}/deliveries/{delivery['id']}/retry", headers=auth_headers)
        assert "failed" in assert_error(r, 409)["message"]
    assert [d["status"] for d in deliveries(hook["id"])] == ["pending", "success"]


def test_retry_of_a_test_delivery_is_a_409(client, auth_headers, hook, receiver):
    receiver.default = 500
    result = client.post(f"{API}/webhooks/{hook['id']}/test", headers=auth_headers).json
    assert result["delivery"]["status"] == "failed"
    r = client.post(f"{API}/deliveries/{result['delivery']['id']}/retry", headers=auth_headers)
    assert "test" in assert_error(r, 409)["message"]
    assert len(receiver.requests) == 1


def test_retry_for_an_inactive_webhook_is_a_409(client, auth_headers, hook, send_event,
                                                fail_cycle, deliveries):
    send_event()
    fail_cycle()
    (failed,) = deliveries(hook["id"])
    client.patch(f"{API}/webhooks/{hook['id']}", headers=auth_headers, json={"active": False})
    r = client.post(f"{API}/deliveries/{failed['id']}/retry", headers=auth_headers)
    assert "inactive" in assert_error(r, 409)["message"]
    assert deliveries(hook["id"]) == [failed]


def test_retry_of_a_failed_delivery_starts_a_new_cycle_that_counts(
        client, auth_headers, hook, receiver, send_event, fail_cycle, dispatch, clock,
        deliveries):
    send_event()
    fail_cycle()
    (failed,) = deliveries(hook["id"])
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert webhook_row(hook["id"]).consecutive_failures == 1

    clock.advance(60)
    r = client.post(f"{API}/deliveries/{failed['id']}/retry", headers=auth_headers)
    assert r.status_code == 200
    assert set(r.json) == DELIVERY_FIELDS
    assert (r.json["id"], r.json["status"], r.json["attempts"]) == (failed["id"], "pending", 3)
    assert (r.json["nextAttemptAt"], r.json["completedAt"]) == ("2026-03-22T12:01:30.000Z", None)

    dispatch()  # the new cycle's first attempt fails and is retried 10 s later, like any other
    (again,) = deliveries(hook["id"])
    assert (again["status"], again["attempts"]) == ("pending", 4)
    assert again["nextAttemptAt"] == "2026-03-22T12:01:40.000Z"
    clock.advance(10)
    dispatch()
    clock.advance(20)
    dispatch()
    (final,) = deliveries(hook["id"])
    assert (final["status"], final["attempts"]) == ("failed", 6)
    assert len(receiver.requests) == 6
    assert webhook_row(hook["id"]).consecutive_failures == 2


def test_successful_retry_resets_the_failure_count(client, auth_headers, hook, receiver,
                                                   send_event, fail_cycle, dispatch, deliveries):
    send_event()
    fail_cycle()
    (failed,) = deliveries(hook["id"])
    receiver.default = 200
    assert client.post(f"{API}/deliveries/{failed['id']}/retry",
                       headers=auth_headers).status_code == 200
    dispatch()
    (done,) = deliveries(hook["id"])
    assert (done["status"], done["attempts"], done["httpCode"]) == ("success", 4, 200)
    detail = client.get(f"{API}/deliveries/{done['id']}", headers=auth_headers).json
    assert [a["httpCode"] for a in detail["attemptLog"]] == [500, 500, 500, 200]
    assert webhook_row(hook["id"]).consecutive_failures == 0


# --- access ---------------------------------------------------------------------------------------

def _foreign_requests(hook_id: int, delivery_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/projects/774", None),
        ("get", "/projects/774/webhooks", None),
        ("post", "/projects/774/webhooks", {"url": VALID_URL, "events": ["task.created"]}),
        ("get", f"/webhooks/{hook_id}", None),
        ("patch", f"/webhooks/{hook_id}", {"active": False}),
        ("post", f"/webhooks/{hook_id}/rotate-secret", None),
        ("post", f"/webhooks/{hook_id}/test", None),
        ("get", f"/webhooks/{hook_id}/deliveries", None),
        ("get", f"/deliveries/{delivery_id}", None),
        ("post", f"/deliveries/{delivery_id}/retry", None),
        ("delete", f"/webhooks/{hook_id}", None),
    ]


@pytest.mark.parametrize("whose", ["member", "token limited to another project"])
def test_resources_of_an_unreachable_project_are_404(client, make_token, member, hook,
                                                     send_event, fail_cycle, receiver,
                                                     deliveries, whose):
    send_event()
    fail_cycle()  # a failed delivery, which a reachable caller could retry
    (delivery,) = deliveries(hook["id"])
    sent = len(receiver.requests)
    if whose == "member":
        token = make_token(f"events:write,{READ_WRITE}", user=member)
    else:
        token = make_token(READ_WRITE, projects=[775])
    for method, path, body in _foreign_requests(hook["id"], delivery["id"]):
        r = getattr(client, method)(API + path, headers=bearer(token), json=body)
        assert_error(r, 404)
    assert count(Webhook) == 1
    db.session.rollback()
    assert webhook_row(hook["id"]).active is True
    assert deliveries(hook["id"]) == [delivery]
    assert len(receiver.requests) == sent


def test_member_sees_only_the_projects_they_belong_to(client, make_token, member, project):
    token = make_token(READ_WRITE, user=member)
    listed = client.get(f"{API}/projects", headers=bearer(token)).json
    assert [p["id"] for p in listed["items"]] == [775]
    assert client.get(f"{API}/projects/775", headers=bearer(token)).status_code == 200
    r = client.post(f"{API}/projects/775/webhooks", headers=bearer(token),
                    json={"url": VALID_URL, "events": ["task.created"]})
    assert r.status_code == 201 and r.json["projectId"] == 775
    user = db.session.get(User, member.id)
    assert [p.id for p in user.projects] == [775]


@pytest.mark.parametrize("case", ["no header", "empty bearer", "basic", "unknown", "expired",
                                  "revoked"])
def test_missing_or_dead_token_is_a_401(client, make_token, project, clock, case):
    token = make_token(expires_at=clock() + timedelta(hours=1))
    headers = {
        "no header": {}, "empty bearer": {"Authorization": "Bearer "},
        "basic": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        "unknown": bearer("whk_" + "x" * 43), "expired": bearer(token), "revoked": bearer(token),
    }[case]
    if case == "expired":
        clock.advance(3600)
    if case == "revoked":
        db.session.execute(update(ApiToken).values(revoked_at=clock()))
        db.session.commit()
    for method, path, body in [("get", "/projects", None), ("get", "/projects/774", None),
                               ("post", "/projects", {"id": 5, "name": "x"}),
                               ("post", "/projects/774/webhooks",
                                {"url": VALID_URL, "events": ["task.created"]}),
                               ("get", "/deliveries/1", None), ("delete", "/projects/774", None)]:
        r = getattr(client, method)(API + path, headers=headers, json=body)
        assert assert_error(r, 401)["code"] == "unauthorized"
    assert count(Project) == 1 and count(Webhook) == 0


def test_a_live_token_still_works(client, make_token, project, clock):
    """The counterpart of the 401 table: the same token before it expires."""
    token = make_token(expires_at=clock() + timedelta(hours=1))
    clock.advance(3599)
    assert client.get(f"{API}/projects/774", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("scopes, method, path, body", [
    ("events:write", "get", "/projects", None),
    ("events:write", "get", "/projects/774", None),
    ("events:write", "get", "/projects/774/webhooks", None),
    ("webhooks:write", "get", "/webhooks/{hook}", None),
    ("webhooks:write", "get", "/webhooks/{hook}/deliveries", None),
    ("webhooks:write", "get", "/deliveries/{delivery}", None),
    ("webhooks:read", "post", "/projects/774/webhooks",
     {"url": VALID_URL, "events": ["task.created"]}),
    ("webhooks:read", "patch", "/webhooks/{hook}", {"active": False}),
    ("webhooks:read", "delete", "/webhooks/{hook}", None),
    ("webhooks:read", "post", "/webhooks/{hook}/rotate-secret", None),
    ("webhooks:read", "post", "/webhooks/{hook}/test", None),
    ("webhooks:read", "post", "/deliveries/{delivery}/retry", None),
    ("webhooks:read,webhooks:write", "post", "/projects", {"id": 1, "name": "x"}),
])
def test_token_without_the_scope_is_a_403(client, make_token, hook, send_event, receiver, scopes,
                                          method, path, body):
    send_event()
    delivery_id = db.session.scalar(select(Delivery.id))
    token = make_token(scopes)
    path = path.format(hook=hook["id"], delivery=delivery_id)
    r = getattr(client, method)(API + path, headers=bearer(token), json=body)
    assert assert_error(r, 403)["code"] == "forbidden"
    assert count(Webhook) == 1 and count(Project) == 1
    assert webhook_row(hook["id"]).active is True
    assert receiver.requests == []


# --- the OpenAPI document -----------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def openapi(client) -> dict:
    r = client.get(f"{API}/openapi.json")  # no token needed
    assert r.status_code == 200 and r.is_json
    return r.json


def resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def problems(doc: dict, schema: dict, value, at: str = "$") -> list[str]:
    """Where `value` breaks `schema` (the subset of JSON Schema the document uses)."""
    schema = resolve(doc, schema)
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not problems(doc, s, value, at)]
        return [] if len(matching) == 1 else [f"{at}: {len(matching)} oneOf branches match"]
    if "const" in schema and (value != schema["const"] or type(value) is not type(schema["const"])):
        return [f"{at}: not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in enum"]
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(isinstance(value, int) and not isinstance(value, bool) if t == "integer"
                   else isinstance(value, _TYPES[t]) for t in types):
            return [f"{at}: {value!r} is not {types}"]
    found = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            found += [f"{at}: unexpected {k}" for k in value if k not in props]
        if len(value) < schema.get("minProperties", 0):
            found.append(f"{at}: too few properties")
        for key, item in value.items():
            if key in props:
                found += problems(doc, props[key], item, f"{at}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{at}: too few items")
        for i, item in enumerate(value):
            found += problems(doc, schema.get("items", {}), item, f"{at}[{i}]")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{at}: {value!r} does not match {schema['pattern']}")
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            found.append(f"{at}: bad length")
    if (isinstance(value, int) and not isinstance(value, bool)
            and not schema.get("minimum", value) <= value <= schema.get("maximum", value)):
        found.append(f"{at}: {value} out of range")
    return found


def response_schema(doc: dict, path: str, method: str, status: int) -> dict:
    response = resolve(doc, doc["paths"][API + path][method]["responses"][str(status)])
    return response["content"]["application/json"]["schema"]


def test_openapi_document_is_served_without_a_token(openapi):
    assert openapi["openapi"] == "3.1.0"
    assert openapi["info"]["title"] and openapi["info"]["version"]
    assert openapi["components"]["securitySchemes"]["bearerAuth"] == {
        **openapi["components"]["securitySchemes"]["bearerAuth"], "type": "http",
        "scheme": "bearer"}
    assert openapi["paths"][f"{API}/openapi.json"]["get"]["security"] == []


def test_openapi_has_a_path_for_every_api_route_and_no_other(app, openapi):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods)
    documented = {path: set(item) & HTTP_METHODS for path, item in openapi["paths"].items()}
    assert documented == {path: methods - {"head", "options"} for path, methods in routes.items()}
    assert len(documented) >= 11


def test_openapi_operations_declare_their_parameters_security_and_errors(openapi):
    op_ids = []
    for path, item in openapi["paths"].items():
        for method, op in item.items():
            op_ids.append(op["operationId"])
            declared = {resolve(openapi, p)["name"] for p in op.get("parameters", [])
                        if resolve(openapi, p)["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            if path.endswith("/openapi.json"):
                continue
            assert op["security"][0]["bearerAuth"], (method, path)  # names its scope
            assert {"401", "403"} <= set(op["responses"]), (method, path)
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = resolve(openapi, response)["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}
    assert len(op_ids) == len(set(op_ids)) == 23


def test_openapi_event_body_has_one_schema_per_subscribable_event(openapi):
    schemas = openapi["components"]["schemas"]
    body = schemas["EventBody"]
    assert body["discriminator"]["propertyName"] == "event"
    assert list(body["discriminator"]["mapping"]) == list(EVENT_TYPES)
    assert len(body["oneOf"]) == 18
    for event, target in body["discriminator"]["mapping"].items():
        assert resolve(openapi, {"$ref": target})["properties"]["event"] == {"const": event}
    payload = schemas["Payload"]["discriminator"]["mapping"]
    assert list(payload) == [*EVENT_TYPES, "webhook.test"]
    assert schemas["Webhook"]["properties"]["deactivatedAt"]["type"] == ["string", "null"]
    assert schemas["Delivery"]["properties"]["httpCode"]["type"] == ["integer", "null"]
    assert schemas["ProjectPage"]["properties"]["nextCursor"]["type"] == ["string", "null"]


EXAMPLE_EVENTS = [
    {"event": "task.created", "task": {"id": 1, "goalId": 774, "tags": [1, 3]}},
    {"event": "task.updated", "task": {"id": 1, "goalId": 774}, "changes": {"statusId": 5},
     "initiatorId": 1, "timestamp": "2026-03-22T11:00:00.000Z"},
    {"event": "task.deleted", "task": {"id": 1, "goalId": 774}, "goalId": 774},
    {"event": "time-entry.stopped", "timeEntry": {"id": 3, "taskId": 1, "goalId": 774},
     "initiatorId": None},
    {"event": "sprint.completed", "sprintId": 42, "goalId": 774, "initiatorId": 1,
     "sprint": {"id": 42, "goalId": 774, "status": "completed", "goalAchieved": True}},
    {"event": "sprint.updated", "sprintId": 42, "goalId": 774,
     "sprint": {"id": 42, "goalId": 774, "status": "planned"}, "changes": {"name": "S8"}},
    {"event": "sprint.deleted", "sprintId": 42, "goalId": 774},
    {"event": "task.assignedToSprint", "taskId": 1, "sprintId": None, "prevSprintId": 42,
     "goalId": 774},
]
REFUSED_EVENTS = [
    {"event": "task.created", "task": {"id": 1, "goalId": 774}, "changes": {"a": 1}},
    {"event": "task.updated", "task": {"id": 1, "goalId": 774}},
    {"event": "task.updated", "task": {"id": 1, "goalId": 774}, "changes": {}},
    {"event": "task.created", "task": {"id": 1}},
    {"event": "task.created", "task": {"id": 1, "goalId": 774}, "extra": 1},
    {"event": "sprint.completed", "sprintId": 42, "goalId": 774,
     "sprint": {"id": 42, "goalId": 774}},
    {"event": "sprint.deleted", "sprintId": 42},
    {"event": "task.assignedToSprint", "taskId": 1, "sprintId": 2, "goalId": 774},
    {"event": "webhook.test", "webhookId": 1, "goalId": 774},
    {"event": "task.created", "task": {"id": 1, "goalId": 774}, "timestamp": "2026-03-22 12:00"},
    {"event": "task.created", "task": {"id": "1", "goalId": 774}},
]


def test_openapi_event_schema_agrees_with_ingest(client, auth_headers, hook, openapi, dispatch,
                                                 receiver):
    schema = {"$ref": "#/components/schemas/EventBody"}
    for event in EXAMPLE_EVENTS:
        assert problems(openapi, schema, event) == [], event
        assert client.post(f"{API}/events", headers=auth_headers, json=event).status_code == 202
    for event in REFUSED_EVENTS:
        assert problems(openapi, schema, event), event
        assert client.post(f"{API}/events", headers=auth_headers, json=event).status_code == 422
    dispatch()
    payload = {"$ref": "#/components/schemas/Payload"}
    for request in receiver.wait_for(len(EXAMPLE_EVENTS)):
        assert problems(openapi, payload, json.loads(request.body)) == []


def test_responses_match_their_documented_schemas(client, auth_headers, openapi, receiver,
                                                  dispatch, clock):
    def check(r, path, method, status):
        assert r.status_code == status, r.get_data(as_text=True)
        assert problems(openapi, response_schema(openapi, path, method, status), r.json) == []
        return r.json

    project = check(client.post(f"{API}/projects", headers=auth_headers,
                                json={"id": 774, "name": "TaskView"}), "/projects", "post", 201)
    check(client.get(f"{API}/projects", headers=auth_headers), "/projects", "get", 200)
    check(client.get(f"{API}/projects/774", headers=auth_headers), "/projects/{project_id}",
          "get", 200)
    check(client.patch(f"{API}/projects/774", headers=auth_headers, json={"name": "TV"}),
          "/projects/{project_id}", "patch", 200)
    hook = check(client.post(f"{API}/projects/774/webhooks", headers=auth_headers,
                             json={"url": receiver.url(), "events": ["task.created"]}),
                 "/projects/{project_id}/webhooks", "post", 201)
    assert project["id"] == hook["projectId"]
    wid = hook["id"]
    check(client.get(f"{API}/projects/774/webhooks", headers=auth_headers),
          "/projects/{project_id}/webhooks", "get", 200)
    check(client.get(f"{API}/webhooks/{wid}", headers=auth_headers), "/webhooks/{webhook_id}",
          "get", 200)
    check(client.patch(f"{API}/webhooks/{wid}", headers=auth_headers, json={"active": False}),
          "/webhooks/{webhook_id}", "patch", 200)
    client.patch(f"{API}/webhooks/{wid}", headers=auth_headers, json={"active": True})
    check(client.post(f"{API}/webhooks/{wid}/rotate-secret", headers=auth_headers),
          "/webhooks/{webhook_id}/rotate-secret", "post", 200)
    receiver.default = 500
    test = check(client.post(f"{API}/webhooks/{wid}/test", headers=auth_headers),
                 "/webhooks/{webhook_id}/test", "post", 200)
    check(client.get(f"{API}/deliveries/{test['delivery']['id']}", headers=auth_headers),
          "/deliveries/{delivery_id}", "get", 200)
    accepted = client.post(f"{API}/events", headers=auth_headers,
                           json={"event": "task.created", "task": {"id": 1, "goalId": 774}})
    check(accepted, "/events", "post", 202)
    check(client.get(f"{API}/webhooks/{wid}/deliveries?limit=1", headers=auth_headers),
          "/webhooks/{webhook_id}/deliveries", "get", 200)  # pending, with a nextCursor
    for _ in range(3):
        dispatch()
        clock.advance(30)
    failed = client.get(f"{API}/webhooks/{wid}/deliveries?status=failed",
                        headers=auth_headers).json["items"][0]
    check(client.get(f"{API}/deliveries/{failed['id']}", headers=auth_headers),
          "/deliveries/{delivery_id}", "get", 200)
    check(client.post(f"{API}/deliveries/{failed['id']}/retry", headers=auth_headers),
          "/deliveries/{delivery_id}/retry", "post", 200)
    error = client.post(f"{API}/deliveries/{failed['id']}/retry", headers=auth_headers)
    check(error, "/deliveries/{delivery_id}/retry", "post", 409)
    check(client.get(f"{API}/webhooks/{wid}/deliveries?limit=0", headers=auth_headers),
          "/webhooks/{webhook_id}/deliveries", "get", 422)
    check(client.get(f"{API}/projects"), "/projects", "get", 401)


def test_a_refused_change_leaves_the_webhook_as_it_was(client, auth_headers, hook, receiver):
    r = client.patch(f"{API}/webhooks/{hook['id']}", headers=auth_headers,
                     json={"url": receiver.url("/new"), "events": ["no.such.event"]})
    assert r.status_code == 422
    shown = client.get(f"{API}/webhooks/{hook['id']}", headers=auth_headers).json
    assert shown["url"] == hook["url"], "the error rolled back the half-applied change"


def test_wrong_method_answers_405_with_allow(client, auth_headers, hook):
    r = client.put(f"{API}/webhooks/{hook['id']}", headers=auth_headers, json={})
    assert r.status_code == 405
    assert r.json["error"]["code"] == "method_not_allowed"
    assert {"GET", "PATCH", "DELETE"} <= set(r.headers["Allow"].replace(" ", "").split(","))


def test_a_cursor_with_a_non_ascii_digit_is_a_422_not_a_500(client, auth_headers, hook):
    import base64
    cursor = base64.urlsafe_b64encode("id:²".encode()).decode()
    r = client.get(f"{API}/webhooks/{hook['id']}/deliveries?cursor={cursor}", headers=auth_headers)
    assert_error(r, 422, "cursor")
