"""The event log and sending again through the API (SPEC §4, §5): a project's events newest
first with their deliveries, one event, replay to today's subscribers, resend of a final
delivery with the same delivery id."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from webhooks.extensions import db
from webhooks.models import Delivery, Webhook

from .helpers import assert_error, bearer, task_event

EVENTS = "/api/v1/projects/774/events"


def ingest(client, token, **task) -> str:
    response = client.post("/api/v1/events", headers=bearer(token), json=task_event(**task))
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.json["eventId"]


@pytest.fixture
def writer(make_token, project):
    return make_token("events:write,webhooks:read,webhooks:write")


def test_the_log_lists_events_newest_first_with_their_deliveries_in_pages(
        client, writer, project, add_webhook, clock):
    first_hook, _ = add_webhook(project, ["task.created"])
    second_hook, _ = add_webhook(project, ["task.created", "task.deleted"])
    ids = []
    for n, event in enumerate(["task.created", "task.deleted", "task.created"]):
        clock.advance(1)
        ids.append(ingest(client, writer, event=event, id=n))
    page = client.get(EVENTS + "?limit=2", headers=bearer(writer)).json
    assert [e["id"] for e in page["items"]] == [ids[2], ids[1]]
    newest = page["items"][0]
    assert (newest["event"], newest["projectId"]) == ("task.created", 774)
    assert [(d["webhookId"], d["status"], d["attempts"]) for d in newest["deliveries"]] == [
        (first_hook, "pending", 0), (second_hook, "pending", 0)]
    assert "payload" not in newest
    rest = client.get(f"{EVENTS}?limit=2&cursor={page['nextCursor']}", headers=bearer(writer))
    assert [e["id"] for e in rest.json["items"]] == [ids[0]] and rest.json["nextCursor"] is None


def test_the_log_filters_by_type_time_and_delivery_status(client, writer, project, add_webhook,
                                                          clock, dispatch, receiver):
    add_webhook(project, ["task.created", "task.deleted"])
    times, ids = [], []
    for n, event in enumerate(["task.created", "task.deleted", "task.created"]):
        clock.advance(60)
        times.append(clock().strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        ids.append(ingest(client, writer, event=event, id=n))
        if n == 0:
            receiver.script.append(500)  # one attempt a cycle (config_overrides): failed
            dispatch()

    def listed(query: str) -> list[str]:
        response = client.get(f"{EVENTS}?{query}", headers=bearer(writer))
        assert response.status_code == 200, response.get_data(as_text=True)
        return [e["id"] for e in response.json["items"]]

    assert listed("type=task.deleted") == [ids[1]]
    assert listed(f"since={times[1]}") == [ids[2], ids[1]]
    assert listed(f"until={times[1]}") == [ids[0]]
    assert listed("status=failed") == [ids[0]]
    assert listed("status=pending") == [ids[2], ids[1]]


@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_RETRY_DELAYS": ()}  # one attempt per cycle: a failed delivery at once


@pytest.mark.parametrize("query, field", [
    ("type=task.nope", "type"), ("since=yesterday", "since"), ("until=2026-03-22", "until"),
    ("status=lost", "status"), ("cursor=xyz", "cursor"), ("limit=0", "limit"), ("q=1", "q"),
])
def test_bad_filters_are_422_naming_the_parameter(client, writer, project, query, field):
    assert_error(client.get(f"{EVENTS}?{query}", headers=bearer(writer)), 422, field)


def test_one_event_shows_its_payload_and_deliveries(client, writer, project, add_webhook):
    hook, _ = add_webhook(project, ["task.created"])
    event_id = ingest(client, writer, id=7, description="Fix ✓")
    response = client.get(f"/api/v1/events/{event_id}", headers=bearer(writer))
    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["event"], body["projectId"]) == (event_id, "task.created", 774)
    assert body["payload"]["task"] == {"id": 7, "goalId": 774, "description": "Fix ✓"}
    assert [(d["webhookId"], d["status"]) for d in body["deliveries"]] == [(hook, "pending")]


def test_an_event_out_of_reach_reads_as_no_event_at_all(client, writer, make_token, project,
                                                        add_project):
    add_project(775)
    other = make_token("events:write,webhooks:read", projects=[775])
    theirs = client.post("/api/v1/events", headers=bearer(other),
                         json=task_event(goal_id=775)).json["eventId"]
    limited = make_token("webhooks:read,webhooks:write", projects=[774])
    for url in (f"/api/v1/events/{theirs}", "/api/v1/events/evt_nothing"):
        error = assert_error(client.get(url, headers=bearer(limited)), 404)
        assert error["message"] == "no such event"
    assert_error(client.post(f"/api/v1/events/{theirs}/replay", headers=bearer(limited)), 404)


def test_replay_sends_the_same_body_to_todays_subscribers_as_new_deliveries(
        client, writer, project, add_webhook, dispatch, receiver):
    old_hook, _ = add_webhook(project, ["task.created"])
    event_id = ingest(client, writer, id=3)
    dispatch()
    add_webhook(project, ["task.created"])  # subscribed since
    add_webhook(project, ["task.created"], active=False)  # off: not sent
    db.session.execute(update(Webhook).where(Webhook.id == old_hook).values(events="task.deleted"))
    db.session.commit()  # no longer subscribed: not sent either
    response = client.post(f"/api/v1/events/{event_id}/replay", headers=bearer(writer))
    assert (response.status_code, response.json) == (202, {"deliveries": 1})
    dispatch()
    first, again = receiver.wait_for(2)
    assert again.body == first.body
    assert again.headers["X-Webhook-Delivery"] != first.headers["X-Webhook-Delivery"]
    detail = client.get(f"/api/v1/events/{event_id}", headers=bearer(writer)).json
    assert [d["status"] for d in detail["deliveries"]] == ["success", "success"]


def test_resend_sends_a_final_delivery_again_with_the_same_delivery_id(
        client, writer, project, add_webhook, dispatch, receiver):
    add_webhook(project, ["task.created"])
    ingest(client, writer, id=4)
    dispatch()
    delivery_id = db.session.scalar(select(Delivery.id))
    response = client.post(f"/api/v1/deliveries/{delivery_id}/resend", headers=bearer(writer))
    assert response.status_code == 200 and response.json["status"] == "pending"
    assert_error(client.post(f"/api/v1/deliveries/{delivery_id}/resend",
                             headers=bearer(writer)), 409)  # pending until it is final
    dispatch()
    first, again = receiver.wait_for(2)
    assert first.headers["X-Webhook-Delivery"] == again.headers["X-Webhook-Delivery"] == \
        str(delivery_id)
    assert json.loads(again.body) == json.loads(first.body)
    after = client.get(f"/api/v1/deliveries/{delivery_id}", headers=bearer(writer)).json
    assert (after["status"], after["attempts"]) == ("success", 2)


def test_resend_is_refused_for_test_sends_and_while_the_webhook_is_off(
        client, writer, project, add_webhook, dispatch):
    hook, _ = add_webhook(project, ["task.created"])
    test = client.post(f"/api/v1/webhooks/{hook}/test", headers=bearer(writer)).json
    assert_error(client.post(f"/api/v1/deliveries/{test['delivery']['id']}/resend",
                             headers=bearer(writer)), 409)
    ingest(client, writer, id=5)
    dispatch()
    delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.event_type ==
                                                              "task.created"))
    client.patch(f"/api/v1/webhooks/{hook}", headers=bearer(writer), json={"active": False})
    error = assert_error(client.post(f"/api/v1/deliveries/{delivery_id}/resend",
                                     headers=bearer(writer)), 409)
    assert "inactive" in error["message"]
    assert_error(client.post(f"/api/v1/events/{test['delivery']['eventId']}/replay",
                             headers=bearer(writer)), 409)


def test_reading_the_log_needs_webhooks_read_and_sending_again_webhooks_write(
        client, make_token, project, add_webhook):
    ingester = make_token("events:write")
    event_id = client.post("/api/v1/events", headers=bearer(ingester),
                           json=task_event()).json["eventId"]
    assert_error(client.get(EVENTS, headers=bearer(ingester)), 403)
    reader = make_token("webhooks:read")
    assert client.get(EVENTS, headers=bearer(reader)).status_code == 200
    assert_error(client.post(f"/api/v1/events/{event_id}/replay", headers=bearer(reader)), 403)
