"""Server side of the event log and of sending again in the UI: filters and keyset pages, search
by event id or delivery id within the user's projects, the event page, replay, resend, and
retrying the failed deliveries of a time window."""
from __future__ import annotations

import html
import re
import socket
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from webhooks import manage
from webhooks.auth import add_member, create_user
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.models import Delivery, Webhook
from webhooks.scheduler import sender_for

LOG = "/projects/774/events"
FIND = "/projects/774/events/find"


@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_RETRY_DELAYS": ()}  # one attempt a cycle: a failure is final at once


def closed_port_url() -> str:
    """A loopback URL nothing listens on: every delivery to it fails (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def send(clock, event: str = "task.created", project_id: int = 774, task_id: int = 1) -> str:
    """Store one event; returns its id."""
    body = {"event": event, "timestamp": "2026-03-22T12:00:00.000Z",
            "task": {"id": task_id, "goalId": project_id, "name": "Write the docs"},
            "initiatorId": None}
    return store_event(db.session, project_id, body, clock()).event_id


def deliveries(event_id: str) -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).where(Delivery.event_id == event_id)
                                   .order_by(Delivery.id)))


def event_ids(page: str) -> list[str]:
    return re.findall(r'<tr id="event-(evt_\w+)"', page)


def field_error(page: str, field: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{field}-error" role="alert">(.*?)</p>', page)
    return html.unescape(match.group(1)) if match else None


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def log(ui, app, project, receiver, clock, dispatch, add_webhook):
    """Webhook `ok` (task.created and task.deleted, answers 200) and `down` (task.created,
    refused); at 12:01 a task.created (success to ok, failed to down), at 12:02 a task.deleted
    (success), at 12:03 a task.created left pending."""
    ok, _ = add_webhook(project, ["task.created", "task.deleted"])
    down, _ = add_webhook(project, ["task.created"], url=closed_port_url())
    ids = []
    for event in ("task.created", "task.deleted", "task.created"):
        clock.advance(60)
        ids.append(send(clock, event))
        if len(ids) < 3:
            dispatch()
    return SimpleNamespace(ok=ok, down=down, events=ids, client=ui[0], htmx=ui[1])


def test_the_log_lists_events_newest_first_with_each_webhooks_delivery(log):
    page = text(log.client.get(LOG))
    assert event_ids(page) == log.events[::-1]
    first = re.search(rf'<tr id="event-{log.events[0]}".*?</tr>', page, re.S).group(0)
    to_ok, to_down = deliveries(log.events[0])
    assert (to_ok.status, to_down.status) == ("success", "failed")
    for d in (to_ok, to_down):
        assert re.search(rf'badge-{d.status}">{d.status}</span>\s*<a href="/deliveries/{d.id}"',
                         first)
    assert "task.created" in first and "2026-03-22 12:01:00" in first
    assert f'href="/events/{log.events[0]}"' in first
    assert db.session.get(Webhook, log.down).url in first  # the URL beside its delivery


@pytest.mark.parametrize("query, expected", [
    ("type=task.deleted", [1]), ("status=failed", [0]), ("status=pending", [2]),
    ("since=2026-03-22T12:02", [2, 1]), ("until=2026-03-22T12:02", [0]),
    ("since=2026-03-22T12:01:30&until=2026-03-22T12:02:30&type=task.deleted", [1]),
    ("type=&since=&until=&status=", [2, 1, 0]),  # an empty form filters nothing
])
def test_filters_by_type_time_range_and_outcome(log, query, expected):
    page = text(log.client.get(f"{LOG}?{query}"))
    assert event_ids(page) == [log.events[i] for i in expected]


def test_filters_live_in_the_url_and_htmx_gets_only_the_log(log):
    response = log.client.get(f"{LOG}?type=task.deleted&since=2026-03-22T12:00",
                              headers=log.htmx)
    fragment = text(response)
    assert fragment.lstrip().startswith('<section id="event-log"') and "<html" not in fragment
    assert "HX-Request" in response.headers["Vary"]
    assert '<option value="task.deleted" selected>' in fragment
    assert 'value="2026-03-22T12:00"' in fragment
    assert re.search(r'<form class="event-filters" method="get" action="/projects/774/events" '
                     r'hx-get="/projects/774/events"\s+hx-target="#event-log" '
                     r'hx-swap="outerHTML" hx-push-url="true">', fragment)
    assert "Since (UTC)" in fragment and "Until (UTC)" in fragment
    restore = log.client.get(f"{LOG}?type=task.deleted",
                             headers={**log.htmx, "HX-History-Restore-Request": "true"})
    assert "<html" in text(restore)


@pytest.mark.parametrize("query, field", [
    ("type=task.nope", "type"), ("type=%00", "type"), ("status=delivered", "status"),
    ("since=yesterday", "since"), ("until=2026-13-40T99:00", "until"),
    ("since=%D9%A1%D9%A2", "since"), ("until=99999-01-01T00:00", "until"),
])
def test_bad_filter_input_is_shown_beside_its_field_not_a_500(log, query, field):
    for headers in ({}, log.htmx):
        response = log.client.get(f"{LOG}?{query}", headers=headers)
        assert response.status_code == 422, text(response)
        assert field_error(text(response), field), text(response)
        assert event_ids(text(response)) == []
    assert "Correct the filter above." in text(response)


@pytest.mark.parametrize("cursor", ["xyz", "%%%", "ZXY6bm90LWEtZGF0ZXxldnRfMQ",
                                    "ZXY6MjAyNi0wMy0yMlQxMjowMDowMCswMTowMHxldnRfMQ"])
def test_a_cursor_not_handed_out_is_a_404(log, cursor):
    assert log.client.get(f"{LOG}?cursor={cursor}").status_code == 404


def test_load_more_pages_through_the_log_without_duplicates_keeping_the_filters(
        ui, project, clock, add_webhook, monkeypatch):
    monkeypatch.setattr("webhooks.ui.events.PAGE_SIZE", 2)
    client, headers = ui
    add_webhook(project, ["task.created"])
    sent = []
    for n in range(5):
        sent.append(send(clock, task_id=n))  # the same second: the id breaks the tie
        send(clock, "task.deleted", task_id=n)
    page = text(client.get(f"{LOG}?type=task.created"))
    shown = event_ids(page)
    while True:
        more = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="closest tbody"', page)
        if more is None:
            break
        url = html.unescape(more.group(1))
        assert "type=task.created" in url and "cursor=" in url
        page = text(client.get(url, headers=headers))
        assert page.lstrip().startswith('<tbody class="events-page">')
        shown += event_ids(page)
    assert sorted(shown) == sorted(sent) and len(shown) == 5
    first = text(client.get(f"{LOG}?type=task.created"))
    url = html.unescape(re.search(r'<tbody class="more">.*?href="([^"]+)"', first, re.S)[1])
    without_js = text(client.get(url))
    assert "Showing older events." in without_js and "<html" in without_js


def test_search_by_event_id_goes_to_the_event(log):
    response = log.client.get(f"{FIND}?q=+{log.events[1]}+")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{log.events[1]}"


def test_search_by_delivery_id_goes_to_its_event_with_the_delivery_marked(log):
    _, to_down = deliveries(log.events[0])
    response = log.client.get(f"{FIND}?q={to_down.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/events/{log.events[0]}#delivery-{to_down.id}"
    page = text(log.client.get(f"/events/{log.events[0]}"))
    assert f'<tr id="delivery-{to_down.id}">' in page


@pytest.mark.parametrize("query, status", [
    ("evt_nothing", 404), ("424242", 404), ("99999999999999999999999", 404), ("%00", 404),
    ("x" * 300, 404), ("", 200), ("+++", 200),
])
def test_search_that_finds_nothing_says_so_beside_the_field(log, query, status):
    response = log.client.get(f"{FIND}?q={query}")
    assert response.status_code == status
    message = field_error(text(response), "q")
    assert message and ("in your projects" in message or "type an event id" in message)
    assert event_ids(text(response)) == log.events[::-1]  # the log is still there


def test_search_and_event_pages_stay_within_the_members_projects(
        client, app, project, clock, add_project, add_webhook, dispatch, ui_login):
    create_user(db.session, "member@example.com", "member password", False, clock())
    add_member(db.session, project, "member@example.com")
    elsewhere = add_project(775)
    add_webhook(elsewhere, ["task.created"])
    theirs = send(clock, project_id=775)
    add_webhook(project, ["task.created"])
    ours = send(clock)
    dispatch()
    their_delivery = deliveries(theirs)[0].id
    token = ui_login("member@example.com", "member password")
    for query in (theirs, str(their_delivery)):
        response = client.get(f"{FIND}?q={query}")
        assert response.status_code == 404
        assert "in your projects" in field_error(text(response), "q")
    assert client.get(f"{FIND}?q={deliveries(ours)[0].id}").headers["Location"].startswith(
        f"/events/{ours}")
    assert client.get(f"/events/{theirs}").status_code == 404
    assert client.get("/projects/775/events").status_code == 404
    assert client.get(f"/projects/775/events/find?q={theirs}").status_code == 404
    headers = {"X-CSRFToken": token, "HX-Request": "true"}
    assert client.post(f"/events/{theirs}/replay", headers=headers).status_code == 404
    assert client.post(f"/deliveries/{their_delivery}/resend", headers=headers).status_code == 404
    assert len(deliveries(theirs)) == 1 and deliveries(theirs)[0].attempts == 1


def test_event_page_shows_the_pretty_payload_and_each_delivery(log):
    page = text(log.client.get(f"/events/{log.events[0]}"))
    assert '<pre class="payload"' in page
    assert '{\n  "event": "task.created",' in html.unescape(page)
    to_ok, to_down = deliveries(log.events[0])
    row = re.search(rf'<tr id="delivery-{to_down.id}">.*?</tr>', page, re.S).group(0)
    assert "badge-failed" in row and "connection refused" in row.lower()
    assert f'href="/deliveries/{to_down.id}"' in row
    assert f'href="/webhooks/{log.down}/deliveries"' in row
    assert re.search(r'<td class="num">1</td>', row)  # attempts
    ok_row = re.search(rf'<tr id="delivery-{to_ok.id}">.*?</tr>', page, re.S).group(0)
    assert '<td class="num">200</td>' in ok_row
    assert 'hx-trigger="every 2s"' not in page  # every delivery is final
    pending = text(log.client.get(f"/events/{log.events[2]}"))
    assert 'hx-trigger="every 2s"' in pending  # the table polls itself while one is pending
    table = log.client.get(f"/events/{log.events[2]}", headers=log.htmx)
    assert text(table).lstrip().startswith('<div id="event-delivery-table"')
    assert log.client.get("/events/evt_nothing").status_code == 404


def test_pages_have_no_inline_script_style_or_handlers(log):
    for path in (LOG, f"/events/{log.events[0]}", f"{FIND}?q=nothing"):
        page = text(log.client.get(path))
        assert "<script>" not in page and " style=" not in page and "onclick" not in page
        assert "hx-on" not in page and "js:" not in page


def test_project_menu_and_webhooks_page_lead_to_the_event_log(log):
    page = text(log.client.get("/projects/774/webhooks"))
    assert 'data-events-url="/projects/774/events"' in page
    assert 'data-menu-link="events-url">Event log</a>' in page
    assert '<a class="event-log-link" href="/projects/774/events">Event log</a>' in page


def test_replay_queues_new_deliveries_for_todays_subscribers_and_says_how_many(
        log, app, project, clock, add_webhook):
    manage.update_webhook(db.session.get(Webhook, log.down), HostPolicy.parse("loopback"),
                          clock(), active=False)
    db.session.commit()
    add_webhook(project, ["task.created"])  # subscribed since: gets the replay
    before = {d.id for d in deliveries(log.events[0])}
    response = log.client.post(f"/events/{log.events[0]}/replay", headers=log.htmx)
    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<section id="event-deliveries"')
    assert "2 new deliveries queued." in fragment
    new = [d for d in deliveries(log.events[0]) if d.id not in before]
    assert sorted(d.webhook_id for d in new) != [] and len(new) == 2
    assert log.down not in {d.webhook_id for d in new}
    assert {d.status for d in new} == {"pending"}
    assert all(f'<tr id="delivery-{d.id}">' in fragment for d in new)
    assert 'hx-trigger="every 2s"' in fragment


def test_replay_without_javascript_asks_first_then_says_how_many(log):
    csrf = {"X-CSRFToken": log.htmx["X-CSRFToken"]}
    count = len(deliveries(log.events[1]))
    ask = log.client.post(f"/events/{log.events[1]}/replay", headers=csrf)
    assert ask.status_code == 200 and "Replay this event?" in text(ask)
    assert '<input type="hidden" name="confirmed" value="1">' in text(ask)
    assert len(deliveries(log.events[1])) == count
    done = log.client.post(f"/events/{log.events[1]}/replay", data={"confirmed": "1"},
                           headers=csrf)
    assert done.status_code == 303 and done.headers["Location"] == f"/events/{log.events[1]}"
    assert len(deliveries(log.events[1])) == count + 1
    assert "1 new delivery queued." in text(log.client.get(done.headers["Location"]))


def test_replay_of_a_test_event_is_refused_in_place(log, app, clock):
    webhook = db.session.get(Webhook, log.ok)
    test = manage.send_test(db.session, webhook, app.extensions["secret_box"], sender_for(app),
                            app.config["DELIVERY"], clock)
    page = text(log.client.get(f"/events/{test.event_id}"))
    assert re.search(r"<button[^>]*disabled[^>]*>Replay</button>", page)
    response = log.client.post(f"/events/{test.event_id}/replay", headers=log.htmx)
    assert response.status_code == 422
    assert "test events cannot be replayed" in text(response)
    assert len(deliveries(test.event_id)) == 1


def test_resend_of_a_successful_delivery_keeps_its_id_and_starts_a_fresh_cycle(
        log, receiver, dispatch):
    to_ok, _ = deliveries(log.events[0])
    page = text(log.client.get(f"/webhooks/{log.ok}/deliveries"))
    row = re.search(rf'<tbody id="delivery-{to_ok.id}".*?</tbody>', page, re.S).group(0)
    assert f'hx-post="/deliveries/{to_ok.id}/resend"' in row and ">Resend</button>" in row
    before = len(receiver.requests)
    response = log.client.post(f"/deliveries/{to_ok.id}/resend", data={"open": "1"},
                               headers=log.htmx)
    fragment = text(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith(f'<tbody id="delivery-{to_ok.id}"')
    assert "badge-pending" in fragment and '<pre class="payload"' in fragment  # still open
    dispatch()  # sends the pending event's deliveries too
    received = receiver.wait_for(before + 2)
    same = [r for r in received if r.headers["X-Webhook-Delivery"] == str(to_ok.id)]
    assert len(same) == 2 and same[0].body == same[1].body
    after = deliveries(log.events[0])[0]
    assert (after.id, after.status, after.attempts) == (to_ok.id, "success", 2)


def test_resend_is_refused_beside_the_row_while_pending_for_tests_and_while_off(log, app, clock):
    pending = deliveries(log.events[2])[0]
    response = log.client.post(f"/deliveries/{pending.id}/resend", headers=log.htmx)
    assert response.status_code == 422
    assert "Not resent: the delivery is still pending" in text(response)
    without_js = log.client.post(f"/deliveries/{pending.id}/resend",
                                 headers={"X-CSRFToken": log.htmx["X-CSRFToken"]})
    assert without_js.status_code == 409 and "Not resent:" in text(without_js)
    test = manage.send_test(db.session, db.session.get(Webhook, log.ok),
                            app.extensions["secret_box"], sender_for(app), app.config["DELIVERY"],
                            clock)
    page = text(log.client.get(f"/webhooks/{log.ok}/deliveries"))
    row = re.search(rf'<tbody id="delivery-{test.id}".*?</tbody>', page, re.S).group(0)
    assert re.search(r"<button[^>]*disabled[^>]*>Resend</button>", row)
    assert "test sends are not resent" in row
    refused = log.client.post(f"/deliveries/{test.id}/resend", headers=log.htmx)
    assert refused.status_code == 422 and "Not resent: test deliveries cannot be resent" in \
        text(refused)
    to_ok, _ = deliveries(log.events[0])
    manage.update_webhook(db.session.get(Webhook, log.ok), HostPolicy.parse("loopback"),
                          clock(), active=False)
    db.session.commit()
    off = log.client.post(f"/deliveries/{to_ok.id}/resend", headers=log.htmx)
    assert off.status_code == 422 and "Not resent: the webhook is inactive" in text(off)
    assert deliveries(log.events[0])[0].status == "success"


@pytest.fixture
def failures(ui, project, clock, dispatch, add_webhook):
    """A refused webhook with failed deliveries made at 12:00, 13:00 and 13:50; now is 14:00."""
    down, _ = add_webhook(project, ["task.created"], url=closed_port_url())
    ids = []
    for minutes in (0, 60, 50):
        clock.advance(minutes * 60)
        ids.append(send(clock))
        dispatch()
    clock.advance(600)
    made = [deliveries(i)[0] for i in ids]
    assert [d.status for d in made] == ["failed"] * 3
    return SimpleNamespace(webhook=down, ids=[d.id for d in made], client=ui[0], htmx=ui[1])


def statuses(ids) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Delivery, i).status for i in ids]


@pytest.mark.parametrize("form, expected, queued", [
    ({"since": "1h"}, ["failed", "pending", "pending"], "2 failed deliveries queued for retry."),
    ({"since": "24h"}, ["pending"] * 3, "3 failed deliveries queued for retry."),
    ({"since": "custom", "from": "2026-03-22T12:30", "to": "2026-03-22T13:30"},
     ["failed", "pending", "failed"], "1 failed delivery queued for retry."),
    ({"since": "custom", "to": "2026-03-22T12:30"}, ["pending", "failed", "failed"],
     "1 failed delivery queued for retry."),
    ({"since": "custom", "from": "2026-03-22T15:00"}, ["failed"] * 3,
     "There are no failed deliveries in that time window."),
])
def test_retry_failed_of_a_time_window_requeues_only_that_window(failures, form, expected,
                                                                  queued):
    response = failures.client.post(f"/webhooks/{failures.webhook}/deliveries/retry-failed",
                                    data=form, headers=failures.htmx)
    assert response.status_code == 200
    assert queued in text(response)
    assert statuses(failures.ids) == expected
    assert f'<option value="{form["since"]}" selected>' in text(response)  # the choice is kept


@pytest.mark.parametrize("form, field", [
    ({"since": "custom"}, "from"), ({"since": "custom", "from": "soon"}, "from"),
    ({"since": "custom", "from": "2026-03-22T13:00", "to": "2026-03-22T12:00"}, "to"),
    ({"since": "custom", "to": "2026-02-30T10:00"}, "to"), ({"since": "2w"}, "since"),
])
def test_retry_failed_window_errors_are_shown_beside_the_field(failures, form, field):
    for headers in (failures.htmx, {"X-CSRFToken": failures.htmx["X-CSRFToken"]}):
        response = failures.client.post(f"/webhooks/{failures.webhook}/deliveries/retry-failed",
                                        data=form, headers=headers)
        assert response.status_code == 422
        assert field_error(text(response), field), text(response)
    assert statuses(failures.ids) == ["failed"] * 3


def test_retry_failed_without_javascript_asks_first_then_shows_the_count(failures):
    url = f"/webhooks/{failures.webhook}/deliveries/retry-failed"
    csrf = {"X-CSRFToken": failures.htmx["X-CSRFToken"]}
    ask = failures.client.post(url, data={"since": "1h", "status": "failed"}, headers=csrf)
    page = text(ask)
    assert ask.status_code == 200 and "Retry failed deliveries?" in page
    assert "created in the last hour" in page
    for name, value in (("since", "1h"), ("status", "failed"), ("confirmed", "1")):
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    assert statuses(failures.ids) == ["failed"] * 3
    done = failures.client.post(url, data={"since": "1h", "status": "failed", "confirmed": "1"},
                                headers=csrf)
    assert done.status_code == 303
    assert done.headers["Location"] == f"/webhooks/{failures.webhook}/deliveries?status=failed"
    assert "2 failed deliveries queued for retry." in text(failures.client.get(
        done.headers["Location"]))
    assert statuses(failures.ids) == ["failed", "pending", "pending"]


def test_resend_and_replay_need_a_csrf_token(log):
    to_ok, _ = deliveries(log.events[0])
    for path in (f"/deliveries/{to_ok.id}/resend", f"/events/{log.events[0]}/replay"):
        response = log.client.post(path, headers={"HX-Request": "true"})
        assert response.status_code == 400, path
    assert len(deliveries(log.events[0])) == 2 and deliveries(log.events[0])[0].attempts == 1
