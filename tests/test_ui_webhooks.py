"""Server side of the webhooks page: every endpoint's page or fragment (SPEC §4, §6, §7)."""
from __future__ import annotations

import re
import socket
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webhooks import manage
from webhooks.auth import create_user
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.models import Delivery, DeliveryAttempt, Event, Project, Webhook

ALL_TASK_EVENTS = ["task.created", "task.updated", "task.deleted", "task.assigneesChanged",
                   "task.assignedToSprint"]
ROW_RE = r'<tbody id="webhook-{id}".*?</tbody>'


def add_webhook(app, project, url="http://127.0.0.1:9/hook", events=("task.created",), **values):
    """A webhook stored through the business rules; returns (webhook, secret)."""
    webhook, secret = manage.create_webhook(
        db.session, app.extensions["secret_box"], HostPolicy.parse("*"), project, url,
        list(events), project.created_at)
    for key, value in values.items():
        setattr(webhook, key, value)
    db.session.commit()
    return webhook, secret


def add_delivery(webhook, status, code=None, at=None, event="task.created"):
    """A finished (or pending) delivery of a stored event, for history and the strip."""
    at = at or webhook.created_at
    event_id = uuid.uuid4().hex
    db.session.add(Event(id=event_id, project_id=webhook.project_id, type=event, body="{}",
                         delivery_count=1, created_at=at))
    db.session.flush()
    delivery = Delivery(webhook_id=webhook.id, event_id=event_id, event_type=event, status=status,
                        attempts=1, cycle_attempts=1, http_code=code, created_at=at,
                        completed_at=None if status == "pending" else at,
                        next_attempt_at=at if status == "pending" else None)
    db.session.add(delivery)
    db.session.commit()
    return delivery


def row_html(response_or_html, webhook_id) -> str:
    html = response_or_html if isinstance(response_or_html, str) else \
        response_or_html.get_data(as_text=True)
    match = re.search(ROW_RE.format(id=webhook_id), html, re.S)
    assert match, f"no row for webhook {webhook_id}"
    return match.group(0)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(webhook: Webhook) -> Webhook:
    """The webhook as stored now (requests share the test's session)."""
    db.session.expire_all()
    return db.session.get(Webhook, webhook.id)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the page --------------------------------------------------------------------------

def test_page_lists_each_webhook_with_events_counter_last_delivery_and_strip(ui, app, project,
                                                                            clock):
    client, _ = ui
    first, _ = add_webhook(app, project, "http://127.0.0.1:9/a", ALL_TASK_EVENTS,
                           consecutive_failures=2)
    second, _ = add_webhook(app, project, "http://127.0.0.1:9/b", ["sprint.completed"])
    add_delivery(first, "success", 200, clock() - timedelta(minutes=9))
    add_delivery(first, "failed", 500, clock() - timedelta(minutes=5))
    add_delivery(first, "pending", None, clock() - timedelta(minutes=1))

    response = client.get("/projects/774/webhooks")
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"  # no back-button copy of a secret
    html = response.get_data(as_text=True)
    assert "Add Webhook" in html
    one, two = row_html(html, first.id), row_html(html, second.id)
    assert "http://127.0.0.1:9/a" in one and "Task: all 5" in one
    assert "<code>sprint.completed</code>" in two and "Task: all" not in two
    assert re.search(r'class="failures has-failures"[^>]*>2</span>', one)
    assert 'class="failures"' in two
    assert 'badge-pending">pending' in one and "1 min ago" in one  # the newest is the last one
    assert "None yet" in two
    # The strip: 50 slots, the three deliveries coloured oldest first, the rest placeholders.
    assert 'aria-label="Last 3 deliveries: 1 succeeded, 1 failed, 1 pending"' in one
    colours = re.findall(r'class="strip-(success|failed|pending)"', one)
    assert colours == ["success", "failed", "pending"]
    assert one.count("<rect") == 50 and two.count('fill="#e3e7ec"') == 50
    assert f'href="/webhooks/{first.id}/deliveries"' in one
    assert re.search(r'role="switch"\s+aria-checked="true"', one)


def test_page_of_a_project_without_webhooks_says_so(ui, project):
    client, _ = ui
    html = client.get("/projects/774/webhooks").get_data(as_text=True)
    assert "No webhooks yet" in html and '<tbody id="webhook-' not in html


def test_page_and_fragments_obey_the_content_security_policy(ui, app, project, receiver):
    client, headers = ui
    webhook, _ = add_webhook(app, project, receiver.url(), ["task.created"],
                             active=False, deactivated_at=project.created_at,
                             deactivation_reason="10 consecutive deliveries failed")
    add_delivery(webhook, "failed", 500)
    pages = [client.get("/projects/774/webhooks"),
             client.get("/projects/774/webhooks/new", headers=headers),
             client.get(f"/webhooks/{webhook.id}/edit", headers=headers),
             client.post(f"/webhooks/{webhook.id}/test", headers=headers),
             client.post(f"/webhooks/{webhook.id}/rotate-secret", headers=headers)]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html
        assert "<script" not in html.split("</head>")[-1]
        assert " style=" not in html and "onclick" not in html and "hx-on" not in html
        assert "js:" not in html
        assert not [t for t in re.findall(r'hx-trigger="([^"]*)"', html) if "[" in t]


def test_fragment_urls_opened_directly_lead_to_the_page(ui, app, project):
    client, _ = ui
    webhook, _ = add_webhook(app, project)
    for path in ("/projects/774/webhooks/new", f"/webhooks/{webhook.id}",
                 f"/webhooks/{webhook.id}/edit", "/projects/774/webhooks/check-url?url=x"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/projects/774/webhooks")
        assert "HX-Request" in response.headers["Vary"]


# --- add -------------------------------------------------------------------------------

def test_add_form_offers_grouped_events_with_select_all(ui, project):
    client, headers = ui
    html = client.get("/projects/774/webhooks/new", headers=headers).get_data(as_text=True)
    legends = re.findall(r"<legend>([^<]+)</legend>", html)
    assert legends == ["Task", "Time entries", "Sprints"]
    assert html.count("data-select-all") == 3
    assert html.count('name="events"') == 18 and "webhook.test" not in html
    assert '<label for="url">URL</label>' in html and "autofocus" in html


def test_add_with_a_valid_url_stores_it_and_shows_the_secret_once(ui, app, project, receiver):
    client, headers = ui
    response = client.post("/projects/774/webhooks", headers=headers, data={
        "url": receiver.url(), "events": ["task.created", "sprint.completed"]})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    webhook = db.session.scalar(select(Webhook))
    assert (webhook.url, webhook.event_list) == (receiver.url(),
                                                 ["task.created", "sprint.completed"])
    html = response.get_data(as_text=True)
    secret = re.search(r'<code id="new-secret">([^<]+)</code>', html).group(1)
    assert app.extensions["secret_box"].decrypt(webhook.secret_encrypted) == secret
    assert "Copy the secret and store it securely - it will not be shown again" in html
    assert 'data-copy-target="#new-secret"' in html
    # The new row comes along, appended to the table out of band.
    assert 'hx-swap-oob="beforeend:#webhooks-table"' in html
    assert "<code>sprint.completed</code>" in row_html(html, webhook.id)
    assert secret not in row_html(html, webhook.id)
    # Never again: not on the next page load, nor in the row.
    assert secret not in client.get("/projects/774/webhooks").get_data(as_text=True)
    assert secret not in client.get(f"/webhooks/{webhook.id}", headers=headers).get_data(
        as_text=True)


@pytest.mark.parametrize("url, message", [
    ("", "enter the URL"),
    ("   ", "enter the URL"),
    ("ftp://127.0.0.1/hook", "must start with http:// or https://"),
    ("127.0.0.1:8000/hook", "must start with http:// or https://"),
    ("http://", "no host"),
])
def test_add_with_a_bad_url_is_an_inline_error_and_stores_nothing(ui, project, url, message):
    client, headers = ui
    response = client.post("/projects/774/webhooks", headers=headers,
                           data={"url": url, "events": ["task.created"]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="url-error"[^>]*>([^<]+)</p>', html)
    assert error and message in error.group(1)
    assert 'aria-invalid="true"' in html
    assert 'value="task.created" checked' in html  # what was chosen stays chosen
    assert count(Webhook) == 0


def test_add_refused_host_names_the_setting_that_would_allow_it(ui, project):
    client, headers = ui
    response = client.post("/projects/774/webhooks", headers=headers,
                           data={"url": "http://10.0.0.1/hook", "events": ["task.created"]})
    assert response.status_code == 422
    error = re.search(r'id="url-error"[^>]*>([^<]+)<', response.get_data(as_text=True)).group(1)
    assert "WEBHOOKS_ALLOWED_HOSTS" in error and "private" in error
    assert count(Webhook) == 0


def test_add_without_events_is_an_inline_error_and_keeps_the_url(ui, project):
    client, headers = ui
    response = client.post("/projects/774/webhooks", headers=headers,
                           data={"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="events-error"[^>]*>select at least one event<', html)
    assert 'id="url-error"' not in html and 'value="http://127.0.0.1:9/hook"' in html
    assert count(Webhook) == 0


def test_add_reports_url_and_events_errors_together(ui, project):
    client, headers = ui
    html = client.post("/projects/774/webhooks", headers=headers,
                       data={"url": "mailto:x@example.com"}).get_data(as_text=True)
    assert 'id="url-error"' in html and 'id="events-error"' in html


def test_url_is_checked_as_you_type(ui, project):
    client, headers = ui
    bad = client.get("/projects/774/webhooks/check-url", headers=headers,
                     query_string={"url": "http://10.0.0.1/"})
    assert bad.status_code == 200
    assert re.search(r'<p class="field-error" id="url-error">[^<]*WEBHOOKS_ALLOWED_HOSTS',
                     bad.get_data(as_text=True))
    good = client.get("/projects/774/webhooks/check-url", headers=headers,
                      query_string={"url": "http://127.0.0.1:4545"})
    assert good.status_code == 200 and good.get_data(as_text=True).strip() == ""
    edit = client.get("/projects/774/webhooks/check-url", headers=headers,
                      query_string={"url": "gopher://x", "prefix": "w7-"})
    assert 'id="w7-url-error"' in edit.get_data(as_text=True)
    odd = client.get("/projects/774/webhooks/check-url", headers=headers,
                     query_string={"url": "gopher://x", "prefix": '"><b>'})
    assert 'id="url-error"' in odd.get_data(as_text=True) and "<b>" not in odd.get_data(
        as_text=True)


# --- toggle, edit ----------------------------------------------------------------------

def test_toggle_swaps_the_row_and_keeps_the_failure_counter(ui, app, project, clock):
    client, headers = ui
    webhook, _ = add_webhook(app, project, consecutive_failures=4)
    off = client.post(f"/webhooks/{webhook.id}/active", headers=headers, data={"active": "off"})
    assert off.status_code == 200
    html = off.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tbody id="webhook-{webhook.id}" class="webhook inactive"')
    assert 'aria-checked="false"' in html and '"active": "on"' in html
    assert re.search(r'has-failures"[^>]*>4</span>', html)
    assert "Turned off" in html and "turned off by hand" in html
    stored = fresh(webhook)
    assert (stored.active, stored.consecutive_failures, stored.deactivated_at) == (
        False, 4, clock())

    on = client.post(f"/webhooks/{webhook.id}/active", headers=headers, data={"active": "on"})
    html = on.get_data(as_text=True)
    assert 'aria-checked="true"' in html and "Turned off" not in html
    assert re.search(r'has-failures"[^>]*>4</span>', html)
    stored = fresh(webhook)
    assert (stored.active, stored.consecutive_failures, stored.deactivated_at) == (True, 4, None)


def test_toggle_is_idempotent_so_a_double_click_does_not_undo_it(ui, app, project):
    client, headers = ui
    webhook, _ = add_webhook(app, project)
    for _ in range(2):
        client.post(f"/webhooks/{webhook.id}/active", headers=headers, data={"active": "off"})
    assert fresh(webhook).active is False
    assert client.post(f"/webhooks/{webhook.id}/active", headers=headers,
                       data={"active": "maybe"}).status_code == 400


def test_edit_form_shows_current_values_and_save_answers_the_row(ui, app, project, receiver):
    client, headers = ui
    webhook, _ = add_webhook(app, project, "http://127.0.0.1:9/old", ["task.created"])
    form = client.get(f"/webhooks/{webhook.id}/edit", headers=headers).get_data(as_text=True)
    prefix = f"w{webhook.id}-"
    assert f'id="{prefix}url"' in form and 'value="http://127.0.0.1:9/old"' in form
    assert 'value="task.created" checked' in form and 'value="task.updated" checked' not in form

    response = client.put(f"/webhooks/{webhook.id}", headers=headers, data={
        "url": receiver.url("/new"), "events": ["time-entry.started", "time-entry.stopped"]})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="webhook"' in html and receiver.url("/new") in html
    assert "<code>time-entry.started</code>" in html and "task.created" not in html
    stored = fresh(webhook)
    assert (stored.url, stored.event_list) == (receiver.url("/new"),
                                               ["time-entry.started", "time-entry.stopped"])


def test_edit_with_errors_answers_the_form_inline_and_changes_nothing(ui, app, project):
    client, headers = ui
    webhook, _ = add_webhook(app, project, "http://127.0.0.1:9/old", ["task.created"])
    response = client.put(f"/webhooks/{webhook.id}", headers=headers,
                          data={"url": "http://10.0.0.1/"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    prefix = f"w{webhook.id}-"
    assert f'id="{prefix}url-error"' in html and "WEBHOOKS_ALLOWED_HOSTS" in html
    assert f'id="{prefix}events-error"' in html
    stored = fresh(webhook)
    assert (stored.url, stored.event_list) == ("http://127.0.0.1:9/old", ["task.created"])


# --- test, rotate, delete --------------------------------------------------------------

def test_test_send_shows_code_and_time_inline_and_leaves_the_counter(ui, app, project, receiver):
    client, headers = ui
    webhook, _ = add_webhook(app, project, receiver.url(), consecutive_failures=3)
    response = client.post(f"/webhooks/{webhook.id}/test", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    result = re.search(r'<div class="test-result test-ok".*?</div>', html, re.S).group(0)
    assert "Test delivered" in result and "HTTP 200" in result
    assert re.search(r'class="test-time">\d+ ms<', result)
    assert receiver.wait_for(1)[0].headers["X-Webhook-Event"] == "webhook.test"
    delivery = db.session.scalar(select(Delivery))
    assert (delivery.event_type, delivery.status, delivery.http_code) == (
        "webhook.test", "success", 200)
    assert fresh(webhook).consecutive_failures == 3
    assert "(test)" in html  # the last delivery is now the test


def test_test_send_against_a_failing_receiver_shows_the_code_inline(ui, app, project, receiver):
    client, headers = ui
    receiver.default = 500
    webhook, _ = add_webhook(app, project, receiver.url())
    html = client.post(f"/webhooks/{webhook.id}/test", headers=headers).get_data(as_text=True)
    result = re.search(r'<div class="test-result test-failed".*?</div>', html, re.S).group(0)
    assert "Test failed" in result and "HTTP 500" in result
    assert db.session.scalar(select(Delivery.status)) == "failed"
    assert fresh(webhook).consecutive_failures == 0


def test_test_send_without_an_answer_shows_the_error_inline(ui, app, project):
    client, headers = ui
    webhook, _ = add_webhook(app, project, f"http://127.0.0.1:{closed_port()}/hook")
    response = client.post(f"/webhooks/{webhook.id}/test", headers=headers)
    assert response.status_code == 200
    result = re.search(r'<div class="test-result test-failed".*?</div>',
                       response.get_data(as_text=True), re.S).group(0)
    assert "no HTTP answer" in result
    error = re.search(r'class="test-error">([^<]+)<', result).group(1)
    assert error == db.session.scalar(select(Delivery.last_error)) and error


def test_test_send_is_allowed_while_inactive(ui, app, project, receiver):
    client, headers = ui
    webhook, _ = add_webhook(app, project, receiver.url(), active=False)
    html = client.post(f"/webhooks/{webhook.id}/test", headers=headers).get_data(as_text=True)
    assert "Test delivered" in html and fresh(webhook).active is False


def test_rotate_shows_a_new_secret_once(ui, app, project):
    client, headers = ui
    webhook, old = add_webhook(app, project)
    response = client.post(f"/webhooks/{webhook.id}/rotate-secret", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    new = re.search(rf'<code id="secret-{webhook.id}">([^<]+)</code>', html).group(1)
    assert new != old and len(new) >= 32
    assert app.extensions["secret_box"].decrypt(fresh(webhook).secret_encrypted) == new
    assert "it will not be shown again" in html and "old secret has stopped working" in html
    assert new not in client.get(f"/webhooks/{webhook.id}", headers=headers).get_data(
        as_text=True)
    assert new not in client.get("/projects/774/webhooks").get_data(as_text=True)


def test_rotate_and_delete_ask_for_confirmation(ui, app, project):
    client, _ = ui
    webhook, _ = add_webhook(app, project)
    row = row_html(client.get("/projects/774/webhooks"), webhook.id)
    assert re.search(r'aria-label="Rotate secret"[^>]*\s+hx-post="[^"]+"\s+hx-confirm="Rotate', row)
    assert re.search(r'hx-delete="[^"]+"\s+hx-confirm="[^"]*delivery history is deleted too', row)
    assert '<svg class="icon"' in row  # the key icon


def test_delete_removes_the_row_and_the_delivery_history(ui, app, project):
    client, headers = ui
    webhook, _ = add_webhook(app, project)
    other, _ = add_webhook(app, project, "http://127.0.0.1:9/other")
    delivery = add_delivery(webhook, "failed", 500)
    db.session.add(DeliveryAttempt(delivery_id=delivery.id, attempted_at=delivery.created_at,
                                   http_code=500, duration_ms=3))
    add_delivery(other, "success", 200)
    db.session.commit()
    response = client.delete(f"/webhooks/{webhook.id}", headers=headers)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    db.session.expire_all()
    assert db.session.get(Webhook, webhook.id) is None
    assert db.session.scalars(select(Delivery.webhook_id)).all() == [other.id]
    assert count(DeliveryAttempt) == 0
    page = client.get("/projects/774/webhooks").get_data(as_text=True)
    assert f'id="webhook-{webhook.id}"' not in page and f'id="webhook-{other.id}"' in page


# --- deactivation ------------------------------------------------------------------------

@pytest.mark.parametrize("config_overrides", [
    {"WEBHOOKS_MAX_CONSECUTIVE_FAILURES": 2, "WEBHOOKS_RETRY_DELAYS": ()}])
def test_webhook_deactivated_by_failures_shows_when_and_why(ui, app, project, receiver, clock,
                                                            dispatch, make_token):
    client, headers = ui
    receiver.default = 500
    webhook, _ = add_webhook(app, project, receiver.url(), ["task.created"])
    token = make_token("events:write")
    for task in (1, 2):
        response = client.post("/api/v1/events", headers={"Authorization": f"Bearer {token}"},
                               json={"event": "task.created", "task": {"id": task, "goalId": 774}})
        assert response.status_code == 202
        dispatch()
    clock.advance(600)
    row = row_html(client.get("/projects/774/webhooks"), webhook.id)
    assert 'class="webhook inactive deactivated"' in row
    assert '<span class="badge badge-failed">Deactivated</span>' in row
    assert "Deactivated automatically" in row and "2 consecutive deliveries failed" in row
    assert "10 min ago" in row and "2026-03-22 12:00 UTC" in row
    assert 'id="reactivate-' in row and re.search(r'role="switch"\s+aria-checked="false"', row)
    assert re.search(r'has-failures"[^>]*>2</span><span class="muted"> / 2<', row)

    again = client.post(f"/webhooks/{webhook.id}/active", headers=headers, data={"active": "on"})
    html = again.get_data(as_text=True)
    assert "Deactivated" not in html and re.search(r'has-failures"[^>]*>2</span>', html)
    assert fresh(webhook).active is True


# --- access ----------------------------------------------------------------------------

def test_requests_without_the_csrf_token_are_refused(ui, app, project):
    client, headers = ui
    webhook, _ = add_webhook(app, project)
    bare = {"HX-Request": "true"}
    attempts = [
        client.post("/projects/774/webhooks", headers=bare,
                    data={"url": "http://127.0.0.1:9/x", "events": ["task.created"]}),
        client.post(f"/webhooks/{webhook.id}/active", headers=bare, data={"active": "off"}),
        client.put(f"/webhooks/{webhook.id}", headers=bare,
                   data={"url": "http://127.0.0.1:9/y", "events": ["task.created"]}),
        client.post(f"/webhooks/{webhook.id}/rotate-secret", headers=bare),
        client.delete(f"/webhooks/{webhook.id}", headers=bare),
    ]
    assert [r.status_code for r in attempts] == [400] * len(attempts)
    stored = fresh(webhook)
    assert count(Webhook) == 1 and stored.active and stored.url == "http://127.0.0.1:9/hook"


def test_a_member_of_another_project_gets_404(client, app, admin, project, clock, ui_login):
    webhook, _ = add_webhook(app, project)
    other = Project(id=775, name="Other", created_at=clock(), updated_at=clock())
    db.session.add(other)
    member = create_user(db.session, "member@example.com", "long enough pw", False, clock())
    member.projects.append(other)
    db.session.commit()
    headers = {"X-CSRFToken": ui_login("member@example.com", "long enough pw"),
               "HX-Request": "true"}
    assert client.get("/projects/775/webhooks").status_code == 200
    attempts = [
        client.get("/projects/774/webhooks"),
        client.get("/projects/774/webhooks/new", headers=headers),
        client.post("/projects/774/webhooks", headers=headers,
                    data={"url": "http://127.0.0.1:9/x", "events": ["task.created"]}),
        client.get(f"/webhooks/{webhook.id}", headers=headers),
        client.get(f"/webhooks/{webhook.id}/edit", headers=headers),
        client.put(f"/webhooks/{webhook.id}", headers=headers,
                   data={"url": "http://127.0.0.1:9/y", "events": ["task.created"]}),
        client.post(f"/webhooks/{webhook.id}/active", headers=headers, data={"active": "off"}),
        client.post(f"/webhooks/{webhook.id}/test", headers=headers),
        client.post(f"/webhooks/{webhook.id}/rotate-secret", headers=headers),
        client.delete(f"/webhooks/{webhook.id}", headers=headers),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    stored = fresh(webhook)
    assert count(Webhook) == 1 and stored.active and count(Delivery) == 0


def test_ids_out_of_the_columns_range_are_404_not_a_crash(ui):
    client, headers = ui
    for path in ("/projects/99999999999999999999/webhooks", "/webhooks/3000000000",
                 "/webhooks/99999999999999999999/edit"):
        assert client.get(path, headers=headers).status_code == 404, path
    assert client.delete("/webhooks/3000000000", headers=headers).status_code == 404


def test_a_project_with_a_negative_goal_id_has_a_webhooks_page(ui, clock):
    client, _ = ui
    db.session.add(Project(id=-5, name="Negative", created_at=clock(), updated_at=clock()))
    db.session.commit()
    response = client.get("/projects/-5/webhooks")
    assert response.status_code == 200 and "Negative #-5" in response.get_data(as_text=True)


def test_the_standard_webhooks_mode_is_chosen_in_the_add_and_edit_forms(ui, project, receiver):
    client, headers = ui
    added = client.post("/projects/774/webhooks", headers=headers, data={
        "url": receiver.url(), "events": ["task.created"], "standard_webhooks": "on"})
    assert added.status_code == 200
    webhook = db.session.scalars(select(Webhook)).one()
    assert webhook.standard_webhooks is True
    form = client.get(f"/webhooks/{webhook.id}/edit", headers=headers).get_data(as_text=True)
    assert 'name="standard_webhooks" value="on"' in form and "checked" in form.split(
        'name="standard_webhooks"')[1].split(">")[0]
    client.put(f"/webhooks/{webhook.id}", headers=headers,
               data={"url": receiver.url(), "events": ["task.created"]})
    db.session.refresh(webhook)
    assert webhook.standard_webhooks is False
