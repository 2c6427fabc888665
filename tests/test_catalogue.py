"""The event catalogue (issue 14): docs/events.md and the UI page come from the one event table,
and "Send example" is a signed one-off delivery of an event type's example, marked as one, kept
in the history and, like a test send (SPEC §4), never retried, resent, replayed or counted."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from webhooks import manage
from webhooks.auth import add_member, create_user
from webhooks.catalogue import EXAMPLE_TIME, groups, markdown
from webhooks.delivery.dispatcher import EXAMPLE_HEADER
from webhooks.delivery.signing import sign
from webhooks.events import BY_NAME, EVENT_TYPES, example_body, validate
from webhooks.exceptions import Conflict, Invalid
from webhooks.extensions import db
from webhooks.models import Delivery, Event, Webhook, delivery_hours
from webhooks.scheduler import sender_for

from .processes import ROOT
from .test_management_api import problems, response_schema

GOAL = 5150  # a project id unlike the table's 774, to see the examples take it


@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_RETRY_DELAYS": (10, 20)}  # an ordinary failure would be retried


def page_url(project_id: int = GOAL) -> str:
    return f"/projects/{project_id}/events/catalogue"


def examples_shown(page: str) -> dict[str, dict]:
    """The example bodies on the page, by event."""
    found = re.findall(r'<h3 id="[\w-]+-name"><code>([\w.-]+)</code></h3>.*?'
                       r'<pre class="payload">(.*?)</pre>', page, re.S)
    return {name: json.loads(html.unescape(body)) for name, body in found}


def outcome(page: str, event: str) -> str:
    """The text of the outcome shown at the event."""
    anchor = event.replace(".", "-")
    match = re.search(rf'<div class="test-result [\w-]+" role="status" '
                      rf'id="example-outcome-{anchor}">.*?</div>', page, re.S)
    assert match, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(0))).split())


def only_delivery() -> tuple[Delivery, Event]:
    db.session.expire_all()
    delivery = db.session.scalars(select(Delivery)).one()
    return delivery, db.session.get(Event, delivery.event_id)


# --- one table: the docs page and the catalogue ----------------------------------------------

def test_docs_events_md_is_what_the_event_table_generates_now():
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == markdown(), "run: python -m webhooks.catalogue > docs/events.md"


def test_the_catalogue_has_the_18_events_in_the_forms_groups_with_valid_examples():
    catalogue = groups()
    assert [group for group, _ in catalogue] == ["Task", "Time entries", "Sprints"]
    entries = [e for _, group in catalogue for e in group]
    assert sorted(e.name for e in entries) == sorted(EVENT_TYPES)
    for e in entries:
        body = json.loads(e.example)
        assert list(body) == [key for key, _ in e.keys]  # keys documented in the order sent
        assert validate(body, EXAMPLE_TIME) == (774, body)
        assert e.fires == BY_NAME[e.name].fires and all(note for _, note in e.keys)
    assert "| `changes` |" in markdown() and "| `webhookId` |" in markdown()


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_an_example_for_a_project_carries_its_goal_id_wherever_the_event_has_one(event):
    body = example_body(event, EXAMPLE_TIME, GOAL)
    assert validate(body, EXAMPLE_TIME) == (GOAL, body)
    assert "774" not in json.dumps(body)
    assert body["timestamp"] == "2026-03-22T12:00:00.000Z"


# --- the page ---------------------------------------------------------------------------------

def test_the_page_shows_every_event_with_its_keys_example_and_send_button(
        ui, add_project, add_webhook):
    client, _ = ui
    project = add_project(GOAL, "Examples")
    webhook_id, _ = add_webhook(project, ["task.created"], active=False)
    response = client.get(page_url())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = examples_shown(page)
    assert list(shown) == [e.name for _, group in groups() for e in group]
    assert all(body == example_body(name, EXAMPLE_TIME, GOAL) for name, body in shown.items())
    for event in EVENT_TYPES:
        assert (f'<button type="submit" form="send-example" name="event" value="{event}"'
                in page)
        assert html.escape(BY_NAME[event].fires) in page
    assert page.count('<td><code>initiatorId</code></td>') == 18
    assert re.search(rf'<option value="{webhook_id}">[^<]*\(off\)</option>', page)
    chosen = client.get(f"{page_url()}?webhook={webhook_id}").get_data(as_text=True)
    assert f'<option value="{webhook_id}" selected>' in chosen
    assert f'data-catalogue-url="{page_url()}"' in page  # the sidebar's project menu
    webhooks_page = client.get(f"/projects/{GOAL}/webhooks").get_data(as_text=True)
    assert f'href="{page_url()}">Event catalogue</a>' in webhooks_page


def test_a_project_without_webhooks_says_so_and_sends_nothing(ui, add_project):
    client, headers = ui
    add_project(GOAL)
    page = client.get(page_url()).get_data(as_text=True)
    assert "no webhook yet" in page and page.count("disabled>Send example") == 18
    response = client.post(page_url(), headers=headers, data={"event": "task.created"})
    assert response.status_code == 422
    assert "Nothing sent: choose a webhook" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


# --- "Send example" ----------------------------------------------------------------------------

def test_send_example_posts_the_signed_example_marked_as_one_and_shows_the_outcome(
        ui, app, add_project, add_webhook, receiver, clock):
    client, headers = ui
    project = add_project(GOAL)
    webhook_id, secret = add_webhook(project, ["sprint.created"])  # not task.updated
    db.session.get(Webhook, webhook_id).consecutive_failures = 3
    db.session.commit()
    response = client.post(page_url(), headers=headers,
                           data={"event": "task.updated", "webhook_id": str(webhook_id)})
    assert response.status_code == 200
    result = outcome(response.get_data(as_text=True), "task.updated")
    assert "Example delivered: HTTP 200 in" in result and re.search(r"\d+ ms", result)
    assert "which does not subscribe to task.updated" in result
    [request] = receiver.wait_for(1)
    delivery, event = only_delivery()
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
    assert request.headers["X-Webhook-Event"] == "task.updated"
    assert request.headers["X-Webhook-Delivery"] == str(delivery.id)
    assert request.headers[EXAMPLE_HEADER] == "true"
    assert request.body == event.body.encode()
    assert json.loads(request.body) == example_body("task.updated", clock(), GOAL)
    assert (event.type, event.example, delivery.example) == ("task.updated", True, True)
    assert (delivery.status, delivery.http_code, delivery.attempts, delivery.next_attempt_at) == (
        "success", 200, 1, None)
    assert db.session.get(Webhook, webhook_id).consecutive_failures == 3
    assert db.session.scalar(select(func.count()).select_from(delivery_hours)) == 0  # trends
    client.post(f"/webhooks/{webhook_id}/test", headers=headers)
    assert EXAMPLE_HEADER not in receiver.wait_for(2)[1].headers  # only examples say so


def test_a_failed_example_is_never_retried_resent_replayed_or_counted(
        ui, app, add_project, add_webhook, receiver, clock, dispatch):
    client, headers = ui
    project = add_project(GOAL)
    webhook_id, _ = add_webhook(project, ["task.created"])
    db.session.get(Webhook, webhook_id).consecutive_failures = 9  # one counted failure: off
    db.session.commit()
    receiver.default = 500
    page = client.post(page_url(), headers=headers, data={
        "event": "task.created", "webhook_id": str(webhook_id)}).get_data(as_text=True)
    assert "Example failed: HTTP 500 in" in outcome(page, "task.created")
    delivery, event = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    clock.advance(3600)
    assert dispatch() == 0 and len(receiver.requests) == 1
    webhook = db.session.get(Webhook, webhook_id)
    assert (webhook.consecutive_failures, webhook.active) == (9, True)
    for send_again in (manage.retry_delivery, manage.resend_delivery):
        with pytest.raises(Conflict, match="examples cannot be"):
            send_again(db.session, delivery, webhook, clock())
    with pytest.raises(Conflict, match="examples cannot be replayed"):
        manage.replay_event(db.session, event, clock())
    assert manage.retry_failed(db.session, webhook, clock()) == 0
    db.session.rollback()
    history = client.get(f"/webhooks/{webhook_id}/deliveries").get_data(as_text=True)
    row = re.search(rf'<tbody id="delivery-{delivery.id}".*?</tbody>', history, re.S).group(0)
    assert 'class="badge badge-example">example<' in row and "examples are not retried" in row
    event_page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "examples are not replayed" in event_page
    log = client.get(f"/projects/{GOAL}/events").get_data(as_text=True)
    assert 'class="badge badge-example">example<' in log
    assert len(receiver.requests) == 1


def test_an_example_goes_to_a_webhook_that_is_off_and_leaves_it_off(
        ui, add_project, add_webhook, receiver):
    client, headers = ui
    project = add_project(GOAL)
    webhook_id, _ = add_webhook(project, ["task.created"], active=False)
    page = client.post(page_url(), headers=headers, data={
        "event": "sprint.deleted", "webhook_id": str(webhook_id)}).get_data(as_text=True)
    assert "Example delivered" in outcome(page, "sprint.deleted")
    assert receiver.wait_for(1)[0].headers["X-Webhook-Event"] == "sprint.deleted"
    assert db.session.get(Webhook, webhook_id).active is False


def test_without_javascript_the_page_comes_back_with_the_outcome_at_its_event(
        ui, add_project, add_webhook, receiver):
    client, headers = ui
    project = add_project(GOAL)
    add_webhook(project, ["task.created"], url=receiver.url("/first"))
    second, _ = add_webhook(project, ["task.created"], url=receiver.url("/second"))
    response = client.post(page_url(), headers={"X-CSRFToken": headers["X-CSRFToken"]},
                           data={"event": "time-entry.stopped", "webhook_id": str(second)})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    slot = re.search(r'id="example-result-time-entry-stopped">(.*?)</div>\s*<div class="catalogue',
                     page, re.S).group(1)
    assert "Example delivered" in slot and receiver.url("/second") in slot
    assert f'<option value="{second}" selected>' in page  # the webhook stays chosen
    assert [r.path for r in receiver.requests] == ["/second"]


def test_an_unknown_event_or_a_test_event_is_not_sent(ui, app, add_project, add_webhook,
                                                       receiver):
    client, headers = ui
    project = add_project(GOAL)
    webhook_id, _ = add_webhook(project, ["task.created"])
    for event in ("webhook.test", "task.nothing", ""):
        response = client.post(page_url(), headers=headers,
                               data={"event": event, "webhook_id": str(webhook_id)})
        assert response.status_code == 404, event
    with pytest.raises(Invalid, match="unknown event"):
        manage.send_example(db.session, db.session.get(Webhook, webhook_id),
                            app.extensions["secret_box"], sender_for(app),
                            app.config["DELIVERY"], lambda: EXAMPLE_TIME, "webhook.test")
    assert receiver.requests == []


# --- access ------------------------------------------------------------------------------------

def test_members_send_examples_only_to_webhooks_of_projects_they_see(
        app, client, ui_login, clock, project, add_project, add_webhook, receiver):
    other = add_project(775, "Theirs")
    mine, _ = add_webhook(project, ["task.created"], url=receiver.url("/mine"))
    theirs, _ = add_webhook(other, ["task.created"], url=receiver.url("/theirs"))
    create_user(db.session, "member@example.com", "correct horse", False, clock())
    add_member(db.session, project, "member@example.com")
    db.session.commit()
    headers = {"X-CSRFToken": ui_login("member@example.com"), "HX-Request": "true"}
    page = client.get(page_url(774)).get_data(as_text=True)
    assert receiver.url("/mine") in page and receiver.url("/theirs") not in page
    assert client.get(page_url(775)).status_code == 404
    for url, webhook_id in ((page_url(775), theirs), (page_url(774), theirs),
                            (page_url(775), mine), (page_url(774), 999999), (page_url(774), "x")):
        response = client.post(url, headers=headers,
                               data={"event": "task.created", "webhook_id": str(webhook_id)})
        assert response.status_code == 404, (url, webhook_id)
    assert receiver.requests == []
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    client.post(page_url(774), headers=headers,
                data={"event": "task.created", "webhook_id": str(mine)})
    assert [r.path for r in receiver.wait_for(1)] == ["/mine"]


def test_a_webhook_of_another_visible_project_is_not_sent_to_from_this_page(
        ui, add_project, add_webhook, receiver):
    client, headers = ui  # the administrator sees both projects
    add_project(GOAL)
    theirs, _ = add_webhook(add_project(GOAL + 1), ["task.created"])
    response = client.post(page_url(), headers=headers,
                           data={"event": "task.created", "webhook_id": str(theirs)})
    assert response.status_code == 404 and receiver.requests == []


# --- the API: POST /api/v1/webhooks/{id}/example ------------------------------------------------

def test_the_api_sends_an_example_and_answers_like_a_test_send(
        client, auth_headers, add_project, add_webhook, receiver):
    webhook_id, secret = add_webhook(add_project(GOAL), ["task.created"])
    url = f"/api/v1/webhooks/{webhook_id}/example"
    response = client.post(url, headers=auth_headers, json={"event": "time-entry.started"})
    assert response.status_code == 200, response.get_data(as_text=True)
    openapi = client.get("/api/v1/openapi.json").json
    schema = response_schema(openapi, "/webhooks/{webhook_id}/example", "post", 200)
    assert problems(openapi, schema, response.json) == []
    sent = response.json["delivery"]
    assert (sent["event"], sent["example"], sent["status"], sent["httpCode"]) == (
        "time-entry.started", True, "success", 200)
    [request] = receiver.wait_for(1)
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
    assert request.headers[EXAMPLE_HEADER] == "true"
    assert json.loads(request.body)["timeEntry"]["goalId"] == GOAL
    detail = client.get(f"/api/v1/deliveries/{sent['id']}", headers=auth_headers).json
    assert detail["example"] is True and detail["payload"] == json.loads(request.body)
    event = client.get(f"/api/v1/events/{sent['eventId']}", headers=auth_headers).json
    assert event["example"] is True
    for again in ("retry", "resend"):
        refused = client.post(f"/api/v1/deliveries/{sent['id']}/{again}", headers=auth_headers)
        assert refused.status_code == 409, again
    replay = client.post(f"/api/v1/events/{sent['eventId']}/replay", headers=auth_headers)
    assert replay.status_code == 409


@pytest.mark.parametrize("body, message", [
    ({}, "event is required"),
    ({"event": "webhook.test"}, "unknown event 'webhook.test'"),
    ({"event": 1}, "unknown event 1"),
    ({"event": "task.created", "extra": 1}, "unknown field 'extra'"),
])
def test_the_api_refuses_an_example_of_no_subscribable_event(
        client, auth_headers, add_project, add_webhook, receiver, body, message):
    webhook_id, _ = add_webhook(add_project(GOAL), ["task.created"])
    response = client.post(f"/api/v1/webhooks/{webhook_id}/example", headers=auth_headers,
                           json=body)
    assert response.status_code == 422
    assert message in response.json["error"]["message"]
    assert receiver.requests == []
