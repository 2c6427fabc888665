"""Server side of a webhook's deliveries page: history, filter, keyset pages, detail, retry."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import event, select, update

from webhooks import manage
from webhooks.auth import add_member, create_user
from webhooks.delivery.hosts import HostPolicy
from webhooks.exceptions import Conflict
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.models import Delivery, DeliveryAttempt, Project, Webhook
from webhooks.scheduler import sender_for

TASK_ID = iter(range(1, 10_000))


def body(task_name: str = "Write the docs") -> dict:
    return {"event": "task.created", "timestamp": "2026-03-22T12:00:00.000Z",
            "task": {"id": next(TASK_ID), "goalId": 774, "name": task_name},
            "initiatorId": None}


def make_webhook(app, project, receiver, clock, path: str = "/hook") -> Webhook:
    webhook, _ = manage.create_webhook(db.session, app.extensions["secret_box"],
                                       HostPolicy.parse("loopback"), project,
                                       receiver.url(path), ["task.created"], clock())
    db.session.commit()
    return webhook


def ingest(clock, payload: dict | None = None, project_id: int = 774,
           webhook_id: int | None = None) -> Delivery:
    """Store one event; returns its delivery (to `webhook_id` when several were made)."""
    accepted = store_event(db.session, project_id, payload or body(), clock())
    query = select(Delivery).where(Delivery.event_id == accepted.event_id)
    if webhook_id is not None:
        query = query.where(Delivery.webhook_id == webhook_id)
    return db.session.scalar(query.order_by(Delivery.id.desc()).limit(1))


def run_to_failure(dispatch, clock) -> None:
    """The original attempt and both retries (10 s, then 20 s later)."""
    dispatch()
    clock.advance(10)
    dispatch()
    clock.advance(20)
    dispatch()


def fresh(delivery_id: int) -> Delivery:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tbody id="delivery-(\d+)"', page)]


def row(page: str, delivery_id: int) -> str:
    match = re.search(rf'<tbody id="delivery-{delivery_id}".*?</tbody>', page, re.S)
    assert match, f"no row for delivery {delivery_id}"
    return match.group(0)


def cells(row_html: str) -> list[str]:
    """The summary row's cells as text."""
    summary = re.search(r'<tr class="clickable summary".*?</tr>', row_html, re.S).group(0)
    raw = re.findall(r"<td[^>]*>(.*?)</td>", summary, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in raw]


def more_url(page: str) -> str | None:
    match = re.search(r'<tbody class="more" hx-get="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def skips_rows(statement: str, params) -> bool:
    """An OFFSET other than SQLite's rendering of none (`LIMIT ? OFFSET 0`)."""
    if " offset " not in statement:
        return False
    values = list(params.values()) if isinstance(params, dict) else list(params)
    return values[-1] != 0


@pytest.fixture
def webhook(app, project, receiver, clock):
    return make_webhook(app, project, receiver, clock)


@pytest.fixture
def mixed(webhook, receiver, clock, dispatch):
    """A success, a failure (three answers of 500) and a pending delivery, oldest first."""
    ok = ingest(clock)
    dispatch()
    receiver.script.extend([("status", 500, b"boom")] * 3)
    failed = ingest(clock, body("Ünïcode <b>bold</b>"))
    run_to_failure(dispatch, clock)
    pending = ingest(clock)
    return fresh(ok.id), fresh(failed.id), fresh(pending.id)


def test_history_lists_newest_first_with_event_status_code_attempts_and_time(ui, webhook, mixed):
    client, _ = ui
    ok, failed, pending = mixed
    response = client.get(f"/webhooks/{webhook.id}/deliveries")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert response.headers["Vary"].startswith("HX-Request")
    for heading in ("Event", "Status", "HTTP code", "Attempts", "Created (UTC)"):
        assert f">{heading}</th>" in page
    assert row_ids(page) == [pending.id, failed.id, ok.id]
    assert cells(row(page, ok.id))[:5] == ["task.created", "success", "200", "1",
                                           "2026-03-22 12:00:00"]
    assert cells(row(page, failed.id))[:4] == ["task.created", "failed", "500", "3"]
    assert cells(row(page, pending.id))[:4] == ["task.created", "pending due 2026-03-22 12:00:30",
                                                "—", "0"]


def test_a_failure_without_an_http_code_shows_its_error(ui, webhook, receiver, clock, dispatch):
    client, _ = ui
    receiver.script.extend(["drop"] * 3)
    delivery = ingest(clock)
    run_to_failure(dispatch, clock)
    error = fresh(delivery.id).last_error
    assert error and fresh(delivery.id).http_code is None
    page = client.get(f"/webhooks/{webhook.id}/deliveries").get_data(as_text=True)
    status, code = cells(row(page, delivery.id))[1:3]
    assert status.startswith("failed ") and error[:40] in status and code == "—"


def test_page_header_shows_the_webhook_url_its_state_and_the_way_back(ui, webhook):
    client, _ = ui
    page = client.get(f"/webhooks/{webhook.id}/deliveries").get_data(as_text=True)
    header = re.search(r'<header class="deliveries-head">.*?</header>', page, re.S).group(0)
    assert webhook.url in header and "badge-success\">active<" in header
    assert 'href="/projects/774/webhooks"' in header
    assert "No deliveries yet" in page


def test_page_has_no_inline_script_style_or_handlers(ui, webhook, mixed):
    client, _ = ui
    for path in (f"/webhooks/{webhook.id}/deliveries", f"/deliveries/{mixed[1].id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page and "onclick" not in page
        assert "hx-on" not in page and "js:" not in page and "hx-trigger=\"every 2s [" not in page


def test_status_filter_shows_only_that_status_and_lives_in_the_url(ui, webhook, mixed):
    client, headers = ui
    ok, failed, pending = mixed
    for status, expected in (("success", [ok.id]), ("failed", [failed.id]),
                             ("pending", [pending.id])):
        page = client.get(f"/webhooks/{webhook.id}/deliveries?status={status}").get_data(
            as_text=True)
        assert row_ids(page) == expected, status
        current = re.search(r'<a href="([^"]+)"[^>]*class="current" aria-current="page"', page)
        assert current.group(1) == f"/webhooks/{webhook.id}/deliveries?status={status}"
    fragment = client.get(f"/webhooks/{webhook.id}/deliveries?status=failed", headers=headers)
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<section id="history"')
    assert row_ids(text) == [failed.id]
    assert re.search(r'href="/webhooks/\d+/deliveries\?status=pending" hx-get="[^"]+" '
                     r'hx-target="#history" hx-swap="outerHTML" hx-push-url="true"', text)


def test_history_restore_request_gets_the_whole_page(ui, webhook, mixed):
    client, headers = ui
    response = client.get(f"/webhooks/{webhook.id}/deliveries?status=failed",
                          headers={**headers, "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)
    assert "HX-History-Restore-Request" in response.headers["Vary"]


@pytest.mark.parametrize("query", ["status=delivered", "status=FAILED", "cursor=bm90LWFuLWlk",
                                   "cursor=%%%", "cursor=aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_unknown_status_or_cursor_is_a_404_not_a_crash(ui, webhook, query):
    client, headers = ui
    assert client.get(f"/webhooks/{webhook.id}/deliveries?{query}").status_code == 404
    assert client.get(f"/webhooks/{webhook.id}/deliveries?{query}",
                      headers=headers).status_code == 404


@pytest.mark.parametrize("path", ["/webhooks/99999/deliveries", "/webhooks/4294967296/deliveries",
                                  "/deliveries/99999", "/deliveries/99999999999999999999999"])
def test_unknown_webhook_or_delivery_is_a_404(ui, path):
    client, _ = ui
    assert client.get(path).status_code == 404


def test_clicking_a_row_opens_the_pretty_payload_and_the_attempt_log(ui, mixed):
    client, headers = ui
    _, failed, _ = mixed
    opened = client.get(f"/deliveries/{failed.id}?open=1", headers=headers)
    text = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith(f'<tbody id="delivery-{failed.id}"')
    pre = re.search(r'<pre class="payload"[^>]*>(.*?)</pre>', text, re.S)
    payload = html.unescape(pre.group(1))
    stored = json.loads(payload)
    assert list(stored) == ["event", "timestamp", "task", "initiatorId"]  # order kept
    assert payload == json.dumps(stored, indent=2, ensure_ascii=False)
    assert '"name": "Ünïcode <b>bold</b>"' in payload and "<b>bold" not in text  # escaped
    log = re.search(r'<table class="attempts">.*?</table>', text, re.S).group(0)
    attempts = re.findall(r"<tr>\s*<td>(.*?)</tr>", log, re.S)
    assert len(attempts) == 3
    times = re.findall(r'<time datetime="([^"]+)"', log)
    assert times == sorted(times) and len(set(times)) == 3  # oldest first
    for attempt in attempts:
        assert ">500<" in attempt and " ms<" in attempt and "boom" in attempt
    closed = client.get(f"/deliveries/{failed.id}", headers=headers).get_data(as_text=True)
    assert 'class="payload"' not in closed and 'aria-expanded="false"' in closed
    assert f'hx-get="/deliveries/{failed.id}?open=1"' in closed  # a click opens it


def test_delivery_page_without_javascript_shows_payload_and_attempts(ui, mixed):
    client, _ = ui
    ok, _, _ = mixed
    page = client.get(f"/deliveries/{ok.id}").get_data(as_text=True)
    assert "<html" in page and 'class="payload"' in page and '<table class="attempts">' in page
    assert f'href="/webhooks/{ok.webhook_id}/deliveries"' in page


def test_load_more_pages_through_the_history_without_duplicates_or_gaps(ui, app, webhook, clock):
    client, headers = ui
    created = [ingest(clock).id for _ in range(120)]
    db.session.execute(update(Delivery).where(Delivery.id % 3 == 0).values(status="failed"))
    db.session.commit()
    statements: list[tuple[str, object]] = []
    listener = lambda *args: statements.append((args[2].lower(), args[3]))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        for status, expected in ((None, created[::-1]),
                                 ("failed", [i for i in created[::-1] if i % 3 == 0])):
            url = f"/webhooks/{webhook.id}/deliveries" + (f"?status={status}" if status else "")
            page = client.get(url).get_data(as_text=True)
            pages = [row_ids(page)]
            while more_url(page):
                assert f"status={status}" in more_url(page) if status else True
                page = client.get(more_url(page), headers=headers).get_data(as_text=True)
                assert "<html" not in page and 'id="history"' not in page
                pages.append(row_ids(page))
            seen = [i for p in pages for i in p]
            assert seen == expected, status
            assert [len(p) for p in pages] == [50] * (len(expected) // 50) + [len(expected) % 50]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements and not [s for s, params in statements
                               if "count(" in s or skips_rows(s, params)]


def test_a_pending_row_polls_itself_and_a_final_row_stops(ui, webhook, clock, dispatch):
    client, headers = ui
    delivery = ingest(clock)
    pending = client.get(f"/deliveries/{delivery.id}", headers=headers).get_data(as_text=True)
    status_cell = re.search(r'<td class="status"[^>]*>', pending).group(0)
    assert 'hx-trigger="every 2s"' in status_cell
    assert f'hx-get="/deliveries/{delivery.id}"' in status_cell
    assert 'hx-target="closest tbody"' in status_cell and 'hx-swap="outerHTML"' in status_cell
    opened = client.get(f"/deliveries/{delivery.id}?open=1", headers=headers).get_data(as_text=True)
    assert f'hx-get="/deliveries/{delivery.id}?open=1" hx-trigger="every 2s"' in opened
    dispatch()
    final = client.get(f"/deliveries/{delivery.id}", headers=headers).get_data(as_text=True)
    assert "badge-success" in final and "every 2s" not in final


def test_retry_puts_a_failed_delivery_back_to_pending_and_it_then_succeeds(
        ui, mixed, receiver, dispatch):
    client, headers = ui
    _, failed, _ = mixed
    page = client.get(f"/webhooks/{failed.webhook_id}/deliveries").get_data(as_text=True)
    assert f'hx-post="/deliveries/{failed.id}/retry"' in row(page, failed.id)
    response = client.post(f"/deliveries/{failed.id}/retry", headers=headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<tbody id="delivery-{failed.id}"')
    assert "badge-pending" in text and 'hx-trigger="every 2s"' in text
    retried = fresh(failed.id)
    assert (retried.status, retried.cycle_attempts, retried.attempts) == ("pending", 0, 3)
    receiver.default = 200
    dispatch()
    done = fresh(failed.id)
    assert (done.status, done.attempts, done.http_code) == ("success", 4, 200)


def test_retry_keeps_an_opened_row_open(ui, mixed):
    client, headers = ui
    response = client.post(f"/deliveries/{mixed[1].id}/retry", data={"open": "1"}, headers=headers)
    assert 'class="payload"' in response.get_data(as_text=True)


def test_retry_without_javascript_redirects_to_the_delivery(ui, mixed):
    client, headers = ui
    response = client.post(f"/deliveries/{mixed[1].id}/retry",
                           headers={"X-CSRFToken": headers["X-CSRFToken"]})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/deliveries/{mixed[1].id}"
    assert fresh(mixed[1].id).status == "pending"


def test_retry_of_a_delivery_that_is_not_failed_is_refused_inline(ui, mixed):
    client, headers = ui
    ok = mixed[0]
    response = client.post(f"/deliveries/{ok.id}/retry", headers=headers)
    assert response.status_code == 422
    assert "only failed deliveries can be retried" in response.get_data(as_text=True)
    assert fresh(ok.id).status == "success"


def test_retry_of_a_test_delivery_is_refused_with_a_visible_reason(
        ui, app, webhook, receiver, clock):
    client, headers = ui
    receiver.default = 500
    test = manage.send_test(db.session, webhook, app.extensions["secret_box"], sender_for(app),
                            app.config["DELIVERY"], clock)
    db.session.commit()
    assert test.status == "failed"
    page = client.get(f"/webhooks/{webhook.id}/deliveries").get_data(as_text=True)
    test_row = row(page, test.id)
    assert re.search(r"<button[^>]*disabled[^>]*>Retry</button>", test_row)
    assert "test sends are not retried" in test_row and "hx-post" not in test_row
    response = client.post(f"/deliveries/{test.id}/retry", headers=headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and 'role="alert"' in text
    assert "Not retried: test deliveries cannot be retried" in text
    assert fresh(test.id).status == "failed"


def test_retry_for_an_inactive_webhook_is_refused_with_a_visible_reason(ui, webhook, mixed, clock):
    client, headers = ui
    _, failed, _ = mixed
    manage.update_webhook(db.session.get(Webhook, webhook.id), HostPolicy.parse("loopback"),
                          clock(), active=False)
    db.session.commit()
    page = client.get(f"/webhooks/{webhook.id}/deliveries").get_data(as_text=True)
    assert "badge-inactive\">inactive<" in page and "This webhook is off" in page
    failed_row = row(page, failed.id)
    assert re.search(r"<button[^>]*disabled[^>]*>Retry</button>", failed_row)
    assert "the webhook is off" in failed_row and "hx-post" not in failed_row
    assert re.search(r"<button[^>]*disabled[^>]*>Retry all failed</button>", page)
    response = client.post(f"/deliveries/{failed.id}/retry", headers=headers)
    assert response.status_code == 422
    assert "Not retried: the webhook is inactive" in response.get_data(as_text=True)
    without_js = client.post(f"/deliveries/{failed.id}/retry",
                             headers={"X-CSRFToken": headers["X-CSRFToken"]})
    assert without_js.status_code == 409 and b"the webhook is inactive" in without_js.data
    assert fresh(failed.id).status == "failed"


def test_retry_all_failed_requeues_every_failed_delivery_but_test_sends(
        ui, app, project, webhook, receiver, clock, dispatch):
    client, headers = ui
    receiver.default = 500
    failures = [ingest(clock).id for _ in range(3)]
    run_to_failure(dispatch, clock)
    test = manage.send_test(db.session, webhook, app.extensions["secret_box"], sender_for(app),
                            app.config["DELIVERY"], clock)
    other = make_webhook(app, project, receiver, clock, "/other")  # also gets later events
    receiver.default = 200
    ok = ingest(clock, webhook_id=webhook.id).id
    dispatch()
    receiver.default = 500
    manage.update_webhook(db.session.get(Webhook, webhook.id), HostPolicy.parse("loopback"),
                          clock(), active=False)
    db.session.commit()
    other_failed = ingest(clock).id
    run_to_failure(dispatch, clock)
    manage.update_webhook(db.session.get(Webhook, webhook.id), HostPolicy.parse("loopback"),
                          clock(), active=True)
    db.session.commit()
    assert fresh(other_failed).webhook_id == other.id and fresh(other_failed).status == "failed"

    response = client.post(f"/webhooks/{webhook.id}/deliveries/retry-failed",
                           data={"status": "failed"}, headers=headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.lstrip().startswith('<section id="history"')
    assert "3 failed deliveries queued for retry." in text
    assert row_ids(text) == [test.id]  # still filtered by "failed": only the test send is left
    states = {i: (fresh(i).status, fresh(i).cycle_attempts) for i in failures}
    assert states == {i: ("pending", 0) for i in failures}
    assert fresh(test.id).status == "failed" and fresh(ok).status == "success"
    assert fresh(other_failed).status == "failed"  # another webhook's history is not touched
    again = client.post(f"/webhooks/{webhook.id}/deliveries/retry-failed", headers=headers)
    assert "There are no failed deliveries to retry." in again.get_data(as_text=True)


def test_retry_all_failed_is_refused_for_an_inactive_webhook(ui, webhook, mixed, clock):
    client, headers = ui
    manage.update_webhook(db.session.get(Webhook, webhook.id), HostPolicy.parse("loopback"),
                          clock(), active=False)
    db.session.commit()
    response = client.post(f"/webhooks/{webhook.id}/deliveries/retry-failed", headers=headers)
    assert response.status_code == 422
    assert "the webhook is inactive; turn it on before retrying" in response.get_data(as_text=True)
    assert fresh(mixed[1].id).status == "failed"
    with pytest.raises(Conflict):
        manage.retry_failed(db.session, db.session.get(Webhook, webhook.id), clock())


def test_retry_all_failed_without_javascript_redirects_to_the_filtered_history(ui, webhook, mixed):
    client, headers = ui
    response = client.post(f"/webhooks/{webhook.id}/deliveries/retry-failed",
                           data={"status": "failed", "confirmed": "1"},  # after the confirm page
                           headers={"X-CSRFToken": headers["X-CSRFToken"]})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/webhooks/{webhook.id}/deliveries?status=failed"
    assert fresh(mixed[1].id).status == "pending"


def test_retries_without_csrf_token_are_refused(ui, webhook, mixed):
    client, _ = ui
    _, failed, _ = mixed
    for path in (f"/deliveries/{failed.id}/retry",
                 f"/webhooks/{webhook.id}/deliveries/retry-failed"):
        response = client.post(path, headers={"HX-Request": "true"})
        assert response.status_code == 400, path
    assert fresh(failed.id).status == "failed"


def test_member_of_another_project_gets_404s(client, app, project, receiver, clock, dispatch,
                                             ui_login):
    create_user(db.session, "member@example.com", "member password", False, clock())
    add_member(db.session, project, "member@example.com")
    elsewhere = Project(id=775, name="Elsewhere", created_at=clock(), updated_at=clock())
    db.session.add(elsewhere)
    db.session.commit()
    theirs = make_webhook(app, elsewhere, receiver, clock)
    ours = make_webhook(app, project, receiver, clock)
    receiver.default = 500
    delivery = ingest(clock, {**body(), "task": {"id": 1, "goalId": 775}}, project_id=775)
    run_to_failure(dispatch, clock)
    assert fresh(delivery.id).status == "failed"
    token = ui_login("member@example.com", "member password")
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    assert client.get(f"/webhooks/{ours.id}/deliveries").status_code == 200
    assert client.get(f"/webhooks/{theirs.id}/deliveries").status_code == 404
    assert client.get(f"/deliveries/{delivery.id}").status_code == 404
    assert client.get(f"/deliveries/{delivery.id}?open=1", headers=headers).status_code == 404
    assert client.post(f"/deliveries/{delivery.id}/retry", headers=headers).status_code == 404
    assert client.post(f"/webhooks/{theirs.id}/deliveries/retry-failed",
                       headers=headers).status_code == 404
    assert fresh(delivery.id).status == "failed"
    assert db.session.scalar(select(DeliveryAttempt.id).where(
        DeliveryAttempt.delivery_id == delivery.id).limit(1)) is not None
