"""POST /api/v1/events/batch (SPEC §3): 1 to 100 events, all or nothing, per-item
idempotency keys, and the first refused item's error with its field prefixed."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from webhooks.extensions import db
from webhooks.models import Delivery, Event

from .helpers import assert_error, bearer, counts, task_event

URL = "/api/v1/events/batch"


def batch(*items) -> dict:
    return {"events": list(items)}


def test_a_batch_is_stored_in_order_with_one_delivery_per_subscriber(
        client, writer, project, add_webhook):
    add_webhook(project, ["task.created"])
    add_webhook(project, ["task.created", "task.deleted"])
    response = client.post(URL, headers=bearer(writer), json=batch(
        task_event(id=1), task_event(event="task.deleted", id=2),
        {**task_event(event="task.assigneesChanged", id=3)}))
    assert response.status_code == 202, response.get_data(as_text=True)
    items = response.json["items"]
    assert [(i["deliveries"], i["replayed"]) for i in items] == [(2, False), (1, False),
                                                                  (0, False)]
    db.session.rollback()
    stored = {e.id: e for e in db.session.scalars(select(Event))}
    assert [stored[i["eventId"]].type for i in items] == [
        "task.created", "task.deleted", "task.assigneesChanged"]
    assert counts() == (3, 3)


@pytest.mark.parametrize("items, status, field", [
    ([task_event(id=1), task_event(id=2, goalId="x")], 422, "events[1].task.goalId"),
    ([task_event(id=1), {"event": "task.nope"}], 422, "events[1].event"),
    ([task_event(id=1), "not an object"], 422, "events[1]"),
    ([task_event(id=1), {**task_event(id=2), "idempotencyKey": ""}], 422,
     "events[1].idempotencyKey"),
    ([task_event(id=1), {**task_event(id=2), "idempotencyKey": 5}], 422,
     "events[1].idempotencyKey"),
    ([task_event(id=1), task_event(goal_id=775, id=2), task_event(id=3, goalId="x")], 403,
     "events[1].goalId"),
    ([task_event(id=1), task_event(goal_id=776, id=2)], 404, "events[1].goalId"),
])
def test_one_refused_item_stores_nothing_and_names_the_item(
        client, make_token, project, add_project, items, status, field):
    add_project(775)
    token = make_token("events:write", projects=[774] if status == 403 else None)
    response = client.post(URL, headers=bearer(token), json=batch(*items))
    assert_error(response, status, field)
    assert counts() == (0, 0)


@pytest.mark.parametrize("body, field", [
    ({"events": []}, "events"), ({"events": {}}, "events"), ({}, "events"),
    ({"events": [task_event()] * 101}, "events"), ({"events": [task_event()], "x": 1}, "x"),
])
def test_the_batch_itself_must_hold_1_to_100_events(client, writer, project, body, field):
    assert_error(client.post(URL, headers=bearer(writer), json=body), 422, field)
    assert counts() == (0, 0)


def test_errors_come_in_spec_order_before_any_item(client, make_token, project):
    assert_error(client.post(URL, data=b"{", content_type="application/json"), 400)
    assert_error(client.post(URL, json=batch(task_event())), 401)
    reader = make_token("webhooks:read")
    assert_error(client.post(URL, headers=bearer(reader), json=batch({"event": "x"})), 403)


@pytest.mark.parametrize("config_overrides", [{"WEBHOOKS_MAX_EVENT_BYTES": 1000}])
def test_a_batch_may_weigh_four_times_the_event_limit(client, writer, project):
    def sized(total: int) -> bytes:
        body = b'{"events":[' + b",".join(
            b'{"event":"task.created","task":{"id":1,"goalId":774,"d":"' + b"x" * 300 + b'"}}'
            for _ in range(10)) + b"]}"
        return body + b" " * (total - len(body))

    ok = client.post(URL, headers=bearer(writer), data=sized(4000),
                     content_type="application/json")
    assert ok.status_code == 202
    assert_error(client.post(URL, headers=bearer(writer), data=sized(4001),
                             content_type="application/json"), 413)


def test_item_keys_replay_within_a_batch_and_across_batches(client, writer, project,
                                                           add_webhook):
    add_webhook(project, ["task.created"])
    first = client.post(URL, headers=bearer(writer), json=batch(
        {**task_event(id=1), "idempotencyKey": "a"}, {**task_event(id=2), "idempotencyKey": "a"},
        {**task_event(id=3), "idempotencyKey": "b"})).json["items"]
    assert first[1] == {**first[0], "replayed": True} and first[0]["replayed"] is False
    again = client.post(URL, headers=bearer(writer), json=batch(
        {**task_event(id=4), "idempotencyKey": "b"}, task_event(id=5))).json["items"]
    assert again[0] == {**first[2], "replayed": True} and again[1]["replayed"] is False
    single = client.post("/api/v1/events", headers={**bearer(writer), "Idempotency-Key": "a"},
                         json=task_event(id=6))
    assert single.json == {"eventId": first[0]["eventId"], "deliveries": 1}
    assert counts() == (3, 3)


def test_concurrent_requests_with_one_key_store_one_event(app, writer, project, add_webhook):
    """Requests handed to the ingest writer together: one stores, the others replay it."""
    add_webhook(project, ["task.created"])
    answers, barrier = [], threading.Barrier(8)

    def send(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        with app.app_context():
            answers.append(client.post("/api/v1/events", json=task_event(id=n), headers={
                **bearer(writer), "Idempotency-Key": "same"}).json)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 8 and len({a["eventId"] for a in answers}) == 1
    assert counts() == (1, 1)
    assert db.session.scalar(select(Delivery.event_id)) == answers[0]["eventId"]
