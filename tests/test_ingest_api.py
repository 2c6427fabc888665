"""POST /api/v1/events through the test client: answers, errors and their order, idempotency,
tokens, and delivery of what was accepted (SPEC §2, §3)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from webhooks.auth import create_user
from webhooks.crypto import hash_token
from webhooks.delivery.signing import sign
from webhooks.events import encode_body
from webhooks.extensions import db
from webhooks.models import ApiToken, Delivery, Event, Project
from webhooks.version import __version__

from .helpers import assert_error, bearer, counts, task_event

URL = "/api/v1/events"
TASK_UPDATED = {"event": "task.updated",
                "task": {"id": 1, "goalId": 774, "description": "Fix login bug", "statusId": 5},
                "changes": {"statusId": 5}, "initiatorId": 7}


def token_row(plaintext: str) -> ApiToken:
    db.session.rollback()
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))


@pytest.fixture
def member(app, clock, project):
    user = create_user(db.session, "member@example.com", "member password", False, clock())
    project.members.append(user)
    db.session.commit()
    return user


# --- accepted events ---------------------------------------------------------------------------

def test_accepted_event_answers_202_with_event_id_and_one_delivery_per_active_subscriber(
        client, writer, project, add_project, add_webhook):
    subscribed, _ = add_webhook(project, ["task.updated", "task.created"])
    add_webhook(project, ["task.updated"], active=False)
    add_webhook(project, ["task.created", "sprint.updated"])
    also_subscribed, _ = add_webhook(project, ["task.updated"])
    add_webhook(add_project(775), ["task.updated"])

    response = client.post(URL, headers=bearer(writer), json=TASK_UPDATED)

    assert response.status_code == 202
    assert set(response.json) == {"eventId", "deliveries"}
    assert response.json["deliveries"] == 2
    event_id = response.json["eventId"]
    assert isinstance(event_id, str) and event_id
    deliveries = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [d.webhook_id for d in deliveries] == [subscribed, also_subscribed]
    assert {d.event_id for d in deliveries} == {event_id}
    assert {d.status for d in deliveries} == {"pending"}
    assert {d.event_type for d in deliveries} == {"task.updated"}


def test_event_with_no_subscribed_webhook_is_stored_with_zero_deliveries(
        client, writer, project, add_webhook):
    add_webhook(project, ["sprint.created"])
    response = client.post(URL, headers=bearer(writer), json=TASK_UPDATED)
    assert response.status_code == 202
    assert response.json["deliveries"] == 0
    event = db.session.get(Event, response.json["eventId"])
    assert event is not None and event.project_id == 774 and event.type == "task.updated"
    assert counts() == (1, 0)


def test_each_accepted_event_gets_its_own_id(client, writer, project):
    first = client.post(URL, headers=bearer(writer), json=TASK_UPDATED).json["eventId"]
    second = client.post(URL, headers=bearer(writer), json=TASK_UPDATED).json["eventId"]
    assert first != second
    assert counts() == (2, 0)


def test_stored_body_is_the_outgoing_body_with_timestamp_from_the_clock(
        client, writer, project, clock):
    clock.now = clock.now.replace(microsecond=456789)
    # Sent as text: the test client's `json=` would sort the keys.
    response = client.post(URL, headers=bearer(writer), data=json.dumps({
        "initiatorId": 7, "changes": {"z": 1, "a": 2}, "event": "task.updated", "goalId": 774,
        "task": {"statusId": 5, "id": 1, "goalId": 774, "description": "Überprüfung ✓"}}))
    assert response.status_code == 202
    body = db.session.get(Event, response.json["eventId"]).body
    assert body == (
        '{"event":"task.updated","timestamp":"2026-03-22T12:00:00.456Z",'
        '"task":{"statusId":5,"id":1,"goalId":774,"description":"Überprüfung ✓"},'
        '"changes":{"z":1,"a":2},"initiatorId":7}')


@pytest.mark.parametrize("data, expected", [
    ({"event": "sprint.deleted", "goalId": 774, "sprintId": 3},
     {"event": "sprint.deleted", "timestamp": "2026-03-22T12:00:00.000Z", "sprintId": 3,
      "goalId": 774, "initiatorId": None}),
    ({"event": "task.assignedToSprint", "timestamp": "2020-01-01T00:00:00.001Z", "goalId": 774,
      "taskId": 5, "sprintId": None, "prevSprintId": 2, "initiatorId": None},
     {"event": "task.assignedToSprint", "timestamp": "2020-01-01T00:00:00.001Z", "taskId": 5,
      "sprintId": None, "prevSprintId": 2, "goalId": 774, "initiatorId": None}),
    ({"event": "sprint.activated", "sprintId": 3, "goalId": 774,
      "sprint": {"id": 3, "goalId": 774, "status": "active", "name": "S"}},
     {"event": "sprint.activated", "timestamp": "2026-03-22T12:00:00.000Z", "sprintId": 3,
      "goalId": 774, "initiatorId": None,
      "sprint": {"id": 3, "goalId": 774, "status": "active", "name": "S"}}),
])
def test_stored_body_has_documented_key_order(client, writer, project, data, expected):
    response = client.post(URL, headers=bearer(writer), data=json.dumps(data))
    assert response.status_code == 202, response.json
    assert db.session.get(Event, response.json["eventId"]).body == encode_body(expected)


def test_content_type_is_not_required(client, writer, project):
    response = client.post(URL, headers={**bearer(writer), "Content-Type": "text/plain"},
                           data=json.dumps(task_event()))
    assert response.status_code == 202


# --- errors: shape, codes and what they store --------------------------------------------------

@pytest.mark.parametrize("data, field", [
    ({"task": {"id": 1, "goalId": 774}}, "event"),
    (task_event(event="task.exploded"), "event"),
    ({"event": "webhook.test", "webhookId": 1, "goalId": 774, "initiatorId": None}, "event"),
    ({"event": "task.created", "task": {"id": "1", "goalId": 774}}, "task.id"),
    ({"event": "task.created", "task": {"id": True, "goalId": 774}}, "task.id"),
    ({"event": "task.created", "task": {"id": 1.0, "goalId": 774}}, "task.id"),
    ({"event": "task.created", "task": {"id": 1}}, "task.goalId"),
    ({"event": "task.created", "task": {"id": 1, "goalId": 2 ** 63}}, "task.goalId"),
    ({"event": "task.updated", "task": {"id": 1, "goalId": 774}}, "changes"),
    ({"event": "task.updated", "task": {"id": 1, "goalId": 774}, "changes": {}}, "changes"),
    ({**task_event(), "changes": {"statusId": 1}}, "changes"),
    ({**task_event(), "goalId": 775}, "goalId"),
    ({"event": "sprint.paused", "sprintId": 3, "goalId": 774,
      "sprint": {"id": 3, "goalId": 775, "status": "paused"}}, "goalId"),
    ({"event": "sprint.paused", "sprintId": 4, "goalId": 774,
      "sprint": {"id": 3, "goalId": 774, "status": "paused"}}, "sprintId"),
    ({"event": "sprint.paused", "sprintId": 3, "goalId": 774,
      "sprint": {"id": 3, "goalId": 774}}, "sprint.status"),
    ({**task_event(), "extra": True}, "extra"),
    ({**task_event(), "timestamp": "2026-03-22T12:00:00Z"}, "timestamp"),
    ({**task_event(), "timestamp": "2026-03-22T12:00:00.000+00:00"}, "timestamp"),
    ({**task_event(), "timestamp": "2026-02-30T12:00:00.000Z"}, "timestamp"),
    ({**task_event(), "initiatorId": "7"}, "initiatorId"),
])
def test_invalid_event_is_422_on_the_field_at_fault_and_stores_nothing(
        client, writer, project, add_webhook, data, field):
    add_webhook(project, ["task.created", "task.updated", "sprint.paused"])
    response = client.post(URL, headers=bearer(writer), json=data)
    assert_error(response, 422, field)
    assert counts() == (0, 0)


@pytest.mark.parametrize("raw", [
    b"", b"not json", b"{", b'{"event": NaN}', b'{"event": Infinity}', b'{"a": 1e999}',
    b'{"a":"\xff"}', b'{"a":"\\ud800"}', b"[]", b'["task.created"]', b'"task.created"', b"null",
    b"42", b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
], ids=["empty", "text", "truncated", "nan", "infinity", "overflow", "bad-utf8",
        "lone-surrogate", "empty-array", "array", "string", "null", "number", "deep"])
def test_body_that_is_not_a_json_object_is_400_and_stores_nothing(
        client, writer, project, add_webhook, raw):
    add_webhook(project, ["task.created"])
    response = client.post(URL, headers={**bearer(writer), "Content-Type": "application/json"},
                           data=raw)
    assert_error(response, 400)
    assert counts() == (0, 0)


def test_get_on_the_ingest_url_answers_json_405(client):
    assert_error(client.get(URL), 405)


# --- size limit ----------------------------------------------------------------------------------

def body_of_size(size: int) -> bytes:
    """A valid task.created body of exactly `size` bytes."""
    base = json.dumps(task_event(description=""), separators=(",", ":")).encode()
    raw = json.dumps(task_event(description="x" * (size - len(base))),
                     separators=(",", ":")).encode()
    assert len(raw) == size
    return raw


def test_default_limit_is_256_kib(client, writer, project):
    ok = client.post(URL, headers=bearer(writer), data=body_of_size(256 * 1024))
    assert ok.status_code == 202, ok.json
    too_big = client.post(URL, headers=bearer(writer), data=body_of_size(256 * 1024 + 1))
    assert_error(too_big, 413)
    assert counts() == (1, 0)


@pytest.mark.parametrize("config_overrides", [{"WEBHOOKS_MAX_EVENT_BYTES": 300}])
def test_configured_limit_is_respected_to_the_byte(client, writer, project, config_overrides):
    assert client.post(URL, headers=bearer(writer), data=body_of_size(300)).status_code == 202
    assert_error(client.post(URL, headers=bearer(writer), data=body_of_size(301)), 413)
    assert counts() == (1, 0)


def chunked(client, token: str, raw: bytes):
    """POST `raw` with no Content-Length, as with Transfer-Encoding: chunked."""
    environ = EnvironBuilder(path=URL, method="POST", headers=bearer(token), data=raw).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    response = client.open(Request(environ))  # a dict environ would get its length back
    assert "CONTENT_LENGTH" not in response.request.environ
    return response


@pytest.mark.parametrize("config_overrides", [{"WEBHOOKS_MAX_EVENT_BYTES": 300}])
def test_body_without_content_length_within_the_limit_is_accepted(
        client, writer, project, config_overrides):
    assert chunked(client, writer, body_of_size(300)).status_code == 202


@pytest.mark.parametrize("config_overrides", [{"WEBHOOKS_MAX_EVENT_BYTES": 300}])
def test_oversize_body_without_content_length_is_413(client, writer, project, config_overrides):
    assert_error(chunked(client, writer, body_of_size(301)), 413)
    assert counts() == (0, 0)


# --- order of errors: 413, 400, 401, 403 (scope), 422, 403 (project), 404 --------------------

def test_oversize_body_without_token_is_413(client, project):
    assert_error(client.post(URL, data=body_of_size(256 * 1024 + 1)), 413)


def test_oversize_invalid_json_is_413_not_400(client, writer):
    assert_error(client.post(URL, headers=bearer(writer), data=b"{" * (256 * 1024 + 1)), 413)


def test_invalid_json_without_token_is_400_not_401(client):
    assert_error(client.post(URL, data=b"{nope"), 400)


def test_json_array_without_token_is_400_not_401(client):
    assert_error(client.post(URL, json=[task_event()]), 400)


def test_invalid_json_with_token_lacking_scope_is_400_not_403(client, make_token):
    token = make_token("webhooks:read")
    assert_error(client.post(URL, headers=bearer(token), data=b"[1, 2"), 400)


def test_invalid_event_without_token_is_401_not_422(client, project):
    assert_error(client.post(URL, json={"event": "nope"}), 401)


def test_invalid_event_with_token_lacking_events_write_is_403_not_422(client, make_token, project):
    token = make_token("webhooks:read,webhooks:write")
    error = assert_error(client.post(URL, headers=bearer(token), json={"event": "nope"}), 403)
    assert "events:write" in error["message"]


def test_token_lacking_scope_is_403_even_for_a_project_it_cannot_reach(
        client, make_token, project, add_project):
    add_project(775)
    token = make_token("webhooks:read", projects=[775])
    error = assert_error(client.post(URL, headers=bearer(token), json=task_event()), 403)
    assert "events:write" in error["message"]


def test_invalid_event_with_token_limited_to_another_project_is_422_not_403(
        client, make_token, project, add_project):
    add_project(775)
    token = make_token("events:write", projects=[775])
    assert_error(client.post(URL, headers=bearer(token), json=task_event(event="nope")),
                 422, "event")
    assert_error(client.post(URL, headers=bearer(token), json={**task_event(), "changes": {}}),
                 422, "changes")


def test_event_for_a_project_outside_the_token_is_403(client, make_token, project, add_project):
    add_project(775)
    token = make_token("events:write", projects=[775])
    assert_error(client.post(URL, headers=bearer(token), json=task_event(774)), 403)
    assert counts() == (0, 0)


def test_event_for_an_unknown_project_outside_the_token_is_403_not_404(
        client, make_token, project):
    token = make_token("events:write", projects=[774])
    first = assert_error(client.post(URL, headers=bearer(token), json=task_event(999)), 403)
    # An existing project outside the token answers the same: nothing is revealed.
    db.session.add(Project(id=998, name="Hidden", created_at=project.created_at,
                           updated_at=project.updated_at))
    db.session.commit()
    second = assert_error(client.post(URL, headers=bearer(token), json=task_event(998)), 403)
    assert first["code"] == second["code"]
    assert first.get("field") == second.get("field")


def test_event_for_an_unknown_project_with_an_all_projects_admin_token_is_404(
        client, writer, project):
    assert_error(client.post(URL, headers=bearer(writer), json=task_event(999)), 404)
    assert_error(client.post(URL, headers=bearer(writer), json={
        "event": "sprint.deleted", "sprintId": 1, "goalId": 999}), 404)
    assert counts() == (0, 0)


def test_invalid_event_for_an_unknown_project_is_422_not_404(client, writer, project):
    assert_error(client.post(URL, headers=bearer(writer), json=task_event(999, event="nope")),
                 422, "event")
    assert_error(client.post(URL, headers=bearer(writer), json={**task_event(999), "goalId": 1}),
                 422, "goalId")


def test_idempotency_key_too_long_with_token_lacking_scope_is_403(client, make_token, project):
    token = make_token("webhooks:read")
    response = client.post(URL, headers={**bearer(token), "Idempotency-Key": "k" * 256},
                           json=task_event())
    assert_error(response, 403)


# --- tokens --------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
    {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Token abc"},
    {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer wht_" + "0" * 40},
], ids=["missing", "empty", "scheme-only", "blank", "basic", "other-scheme", "unknown",
        "unknown-shaped"])
def test_missing_malformed_or_unknown_token_is_401_and_stores_nothing(
        client, project, writer, headers):
    assert_error(client.post(URL, headers=headers, json=task_event()), 401)
    assert counts() == (0, 0)


def test_token_with_extra_characters_is_401(client, project, writer):
    assert_error(client.post(URL, headers=bearer(writer + "x"), json=task_event()), 401)
    assert_error(client.post(URL, headers=bearer(writer[:-1]), json=task_event()), 401)


def test_expired_token_is_401_from_its_expiry_on(client, make_token, project, clock):
    token = make_token("events:write", expires_at=clock() + timedelta(minutes=5))
    clock.advance(299)
    assert client.post(URL, headers=bearer(token), json=task_event()).status_code == 202
    clock.advance(1)
    assert_error(client.post(URL, headers=bearer(token), json=task_event()), 401)
    clock.advance(86400)
    assert_error(client.post(URL, headers=bearer(token), json=task_event()), 401)
    assert counts() == (1, 0)


def test_revoked_token_is_401(client, writer, project, clock):
    assert client.post(URL, headers=bearer(writer), json=task_event()).status_code == 202
    row = token_row(writer)
    row.revoked_at = clock()
    db.session.commit()
    assert_error(client.post(URL, headers=bearer(writer), json=task_event()), 401)
    assert counts() == (1, 0)


def test_scheme_name_is_case_insensitive(client, writer, project):
    response = client.post(URL, headers={"Authorization": f"bearer {writer}"}, json=task_event())
    assert response.status_code == 202


def test_last_used_at_is_recorded_on_use(client, writer, project, clock):
    assert token_row(writer).last_used_at is None
    assert client.post(URL, headers=bearer(writer), json=task_event()).status_code == 202
    assert token_row(writer).last_used_at == clock()


def test_last_used_at_is_recorded_when_the_request_is_then_refused(
        client, writer, project, clock):
    assert_error(client.post(URL, headers=bearer(writer), json={"event": "nope"}), 422)
    assert token_row(writer).last_used_at == clock()


def test_last_used_at_is_recorded_on_an_idempotent_replay(client, writer, project, clock):
    headers = {**bearer(writer), "Idempotency-Key": "k1"}
    assert client.post(URL, headers=headers, json=task_event()).status_code == 202
    clock.advance(3600)
    assert client.post(URL, headers=headers, json=task_event()).status_code == 202
    assert token_row(writer).last_used_at == clock()


def test_last_used_at_moves_on_with_later_use(client, writer, project, clock):
    client.post(URL, headers=bearer(writer), json=task_event())
    clock.advance(3600)
    client.post(URL, headers=bearer(writer), json=task_event())
    assert token_row(writer).last_used_at == clock()


def test_refused_token_does_not_record_last_used_at(client, make_token, project, clock):
    token = make_token("events:write", expires_at=clock() + timedelta(seconds=10))
    clock.advance(10)
    assert_error(client.post(URL, headers=bearer(token), json=task_event()), 401)
    assert token_row(token).last_used_at is None


def test_token_limited_to_projects_reaches_only_those(client, make_token, project, add_project):
    add_project(775)
    add_project(776)
    token = make_token("events:write", projects=[774, 776])
    assert client.post(URL, headers=bearer(token), json=task_event(774)).status_code == 202
    assert client.post(URL, headers=bearer(token), json=task_event(776)).status_code == 202
    assert_error(client.post(URL, headers=bearer(token), json=task_event(775)), 403)


def test_member_all_projects_token_reaches_only_the_member_projects(
        client, make_token, member, project, add_project):
    add_project(775)
    token = make_token("events:write", user=member)
    assert client.post(URL, headers=bearer(token), json=task_event(774)).status_code == 202
    assert_error(client.post(URL, headers=bearer(token), json=task_event(775)), 403)
    assert_error(client.post(URL, headers=bearer(token), json=task_event(999)), 403)
    assert counts() == (1, 0)


def test_member_token_loses_a_project_when_the_membership_ends(
        client, make_token, member, project):
    token = make_token("events:write", user=member)
    project.members.remove(member)
    db.session.commit()
    assert_error(client.post(URL, headers=bearer(token), json=task_event(774)), 403)


def test_member_token_listing_a_project_needs_the_membership_too(
        client, make_token, member, project):
    token = make_token("events:write", projects=[774], user=member)
    assert client.post(URL, headers=bearer(token), json=task_event(774)).status_code == 202
    project.members.remove(member)
    db.session.commit()
    assert_error(client.post(URL, headers=bearer(token), json=task_event(774)), 403)


# --- Idempotency-Key -----------------------------------------------------------------------------

def test_same_key_same_project_within_24h_returns_the_first_answer_and_stores_nothing(
        client, writer, project, add_webhook, clock):
    add_webhook(project, ["task.created"])
    headers = {**bearer(writer), "Idempotency-Key": "order-42"}
    first = client.post(URL, headers=headers, json=task_event())
    assert first.status_code == 202 and first.json["deliveries"] == 1
    add_webhook(project, ["task.created"])  # would give 2 deliveries to a new event
    clock.advance(24 * 3600 - 1)
    again = client.post(URL, headers=headers, json=task_event(description="different"))
    assert again.status_code == 202
    assert again.json == first.json
    assert counts() == (1, 1)


def test_same_key_in_another_project_is_independent(client, writer, project, add_project):
    add_project(775)
    headers = {**bearer(writer), "Idempotency-Key": "shared"}
    first = client.post(URL, headers=headers, json=task_event(774))
    other = client.post(URL, headers=headers, json=task_event(775))
    assert first.status_code == other.status_code == 202
    assert first.json["eventId"] != other.json["eventId"]
    assert counts() == (2, 0)
    assert db.session.get(Event, other.json["eventId"]).project_id == 775


def test_key_older_than_24h_creates_a_new_event(client, writer, project, add_webhook, clock):
    add_webhook(project, ["task.created"])
    headers = {**bearer(writer), "Idempotency-Key": "order-42"}
    first = client.post(URL, headers=headers, json=task_event())
    clock.advance(24 * 3600)
    second = client.post(URL, headers=headers, json=task_event())
    assert second.status_code == 202
    assert second.json["eventId"] != first.json["eventId"]
    assert second.json["deliveries"] == 1
    assert counts() == (2, 2)
    # The key now answers with the second event for another 24 hours.
    clock.advance(3600)
    assert client.post(URL, headers=headers, json=task_event()).json == second.json
    assert counts() == (2, 2)


def test_different_keys_create_different_events(client, writer, project):
    a = client.post(URL, headers={**bearer(writer), "Idempotency-Key": "a"}, json=task_event())
    b = client.post(URL, headers={**bearer(writer), "Idempotency-Key": "b"}, json=task_event())
    assert a.json["eventId"] != b.json["eventId"]
    assert counts() == (2, 0)


def test_requests_without_a_key_are_never_deduplicated(client, writer, project):
    client.post(URL, headers=bearer(writer), json=task_event())
    client.post(URL, headers=bearer(writer), json=task_event())
    assert counts() == (2, 0)


def test_key_of_255_characters_is_accepted(client, writer, project):
    headers = {**bearer(writer), "Idempotency-Key": "k" * 255}
    first = client.post(URL, headers=headers, json=task_event())
    assert first.status_code == 202
    assert client.post(URL, headers=headers, json=task_event()).json == first.json
    assert counts() == (1, 0)


@pytest.mark.parametrize("key", ["k" * 256, ""])
def test_key_outside_1_to_255_characters_is_422(client, writer, project, key):
    response = client.post(URL, headers={**bearer(writer), "Idempotency-Key": key},
                           json=task_event())
    assert_error(response, 422, "Idempotency-Key")
    assert counts() == (0, 0)


def test_refused_request_does_not_use_up_its_key(client, writer, project):
    headers = {**bearer(writer), "Idempotency-Key": "retry-me"}
    assert_error(client.post(URL, headers=headers, json={"event": "nope"}), 422)
    response = client.post(URL, headers=headers, json=task_event())
    assert response.status_code == 202
    assert counts() == (1, 0)


# --- what is accepted is delivered ---------------------------------------------------------------

def test_accepted_event_is_delivered_with_the_stored_body_and_headers(
        client, writer, project, add_webhook, receiver, dispatch):
    webhook_id, secret = add_webhook(project, ["task.updated"])
    response = client.post(URL, headers=bearer(writer), data=json.dumps({
        **TASK_UPDATED, "task": {**TASK_UPDATED["task"], "description": "Überprüfung ✓"}}))
    assert response.status_code == 202
    assert dispatch() == 1
    (request,) = receiver.wait_for(1)
    event = db.session.get(Event, response.json["eventId"])
    delivery = db.session.scalar(select(Delivery).where(Delivery.event_id == event.id))
    assert delivery.webhook_id == webhook_id
    assert request.body == event.body.encode("utf-8")
    assert json.loads(request.body)["task"]["description"] == "Überprüfung ✓"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"webhooks/{__version__}"
    assert request.headers["X-Webhook-Event"] == "task.updated"
    assert request.headers["X-Webhook-Delivery"] == str(delivery.id)
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)


def test_each_subscribed_webhook_gets_its_own_delivery_id(
        client, writer, project, add_webhook, receiver, dispatch):
    add_webhook(project, ["task.created"], url=receiver.url("/a"))
    add_webhook(project, ["task.created"], url=receiver.url("/b"))
    response = client.post(URL, headers=bearer(writer), json=task_event())
    assert response.json["deliveries"] == 2
    assert dispatch() == 2
    requests = receiver.wait_for(2)
    assert sorted(r.path for r in requests) == ["/a", "/b"]
    assert len({r.headers["X-Webhook-Delivery"] for r in requests}) == 2
    assert requests[0].body == requests[1].body


def test_an_unknown_query_parameter_comes_after_authentication(client, auth_headers, project):
    assert_error(client.post("/api/v1/events?x=1", json={"event": "task.created"}), 401)
    assert_error(client.post("/api/v1/events?x=1", headers=auth_headers, json={
        "event": "task.created", "task": {"id": 1, "goalId": 774}}), 422, "x")


def test_an_accepted_event_costs_one_commit(app, client, auth_headers, project, clock):
    from sqlalchemy import event as sa_event
    body = {"event": "task.created", "task": {"id": 1, "goalId": 774}}
    assert client.post("/api/v1/events", headers=auth_headers, json=body).status_code == 202
    commits = []
    import traceback
    listener = lambda conn: commits.append("".join(traceback.format_stack(limit=14)))  # noqa: E731
    sa_event.listen(db.engine, "commit", listener)
    try:
        clock.advance(5)  # within a minute: the token's lastUsedAt needs no write
        assert client.post("/api/v1/events", headers=auth_headers, json=body).status_code == 202
    finally:
        sa_event.remove(db.engine, "commit", listener)
    print("\n=====\n".join(commits))
    assert len(commits) == 1


def test_an_accepted_event_is_one_commit(client, writer, project, add_webhook):
    """The event and its deliveries are written in one transaction: one commit per request
    (the token's lastUsedAt is written apart, at most once a minute: the first request)."""
    from sqlalchemy import event as sa_event

    add_webhook(project, ["task.created"])
    add_webhook(project, ["task.created"])
    db.session.commit()
    assert client.post(URL, headers=bearer(writer), json=task_event()).status_code == 202
    commits = []
    listener = lambda conn: commits.append(conn)  # noqa: E731
    sa_event.listen(db.engine, "commit", listener)
    try:
        response = client.post(URL, headers=bearer(writer), json=task_event(id=2))
    finally:
        sa_event.remove(db.engine, "commit", listener)
    assert response.status_code == 202 and response.json["deliveries"] == 2
    assert len(commits) == 1
