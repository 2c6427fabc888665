"""A webhook's deliveries page in a real browser, with the live server's scheduler delivering."""
from __future__ import annotations

import json
import re
from collections import deque
from datetime import timedelta

import requests
from playwright.sync_api import expect

from webhooks import manage
from webhooks.auth import create_token
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.models import Delivery, DeliveryAttempt, Event, Project, User

from .conftest import ADMIN_EMAIL, screenshot

TASK = {"id": 9, "goalId": 774, "name": "Ship the release", "tags": ["ops"]}


def make_webhook(server, url: str) -> int:
    def create():
        project = db.session.get(Project, 774)
        webhook, _ = manage.create_webhook(db.session, server.app.extensions["secret_box"],
                                           HostPolicy.parse("loopback"), project, url,
                                           ["task.created"], utcnow())
        db.session.commit()
        return webhook.id
    return server.query(create)


def send_event(server, task: dict = TASK) -> int:
    """Ingest a task.created event through the API; returns the id of its delivery."""
    def token():
        user = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        _, plaintext = create_token(db.session, user, "t", "events:write", None, None, utcnow())
        db.session.commit()
        return plaintext
    response = requests.post(server.url + "/api/v1/events",
                             headers={"Authorization": f"Bearer {server.query(token)}"},
                             json={"event": "task.created", "task": task, "initiatorId": 3},
                             timeout=10)
    assert response.status_code == 202, response.text
    event_id = response.json()["eventId"]
    return server.query(lambda: db.session.query(Delivery.id).filter_by(event_id=event_id).scalar())


REFUSED = "connection refused"
HISTORY = [  # (name, event, status, answers), oldest first
    ("success", "task.created", "success", [200]),
    ("test", "webhook.test", "failed", [None]),
    ("failed", "task.created", "failed", [500, 500, 500]),
    ("success2", "task.created", "success", [204]),
    ("pending", "task.created", "pending", [503]),
]


def error(code: int | None) -> str | None:
    """The attempt log's error for an answer (None: the connection was refused)."""
    if code is None:
        return REFUSED
    return None if code < 300 else f"HTTP {code}"


def seed_history(server, webhook_id: int, plan=HISTORY) -> dict[str, int]:
    """Deliveries with their attempt logs; a pending one is not due for an hour."""
    def seed():
        now, ids = utcnow(), {}
        for n, (name, event, status, answers) in enumerate(plan):
            event_id = f"evt_seed{webhook_id}x{n}"
            body = json.dumps({"event": event, "timestamp": "2026-03-22T12:00:00.000Z",
                               "task": {"id": n, "goalId": 774}, "initiatorId": None},
                              separators=(",", ":"))
            db.session.add(Event(id=event_id, project_id=774, type=event, body=body,
                                 delivery_count=1, created_at=now))
            db.session.flush()
            final, code = status != "pending", answers[-1]
            delivery = Delivery(webhook_id=webhook_id, event_id=event_id, event_type=event,
                                status=status, http_code=code, attempts=len(answers),
                                cycle_attempts=len(answers), created_at=now,
                                last_error=error(code),
                                completed_at=now if final else None,
                                next_attempt_at=None if final else now + timedelta(hours=1))
            db.session.add(delivery)
            db.session.flush()
            for answer in answers:
                db.session.add(DeliveryAttempt(
                    delivery_id=delivery.id, attempted_at=now, http_code=answer, duration_ms=12,
                    error=error(answer), response_body="ok" if answer else None))
            ids[name] = delivery.id
        db.session.commit()
        return ids
    return server.query(seed)


def test_an_ingested_event_shows_as_success_and_its_payload_opens(admin_page, seeded, receiver):
    page = admin_page
    webhook_id = make_webhook(seeded, receiver.url())
    delivery_id = send_event(seeded)
    receiver.wait_for(1)
    page.goto(f"{seeded.url}/webhooks/{webhook_id}/deliveries")
    expect(page.get_by_role("link", name=re.compile("Webhooks of TaskView"))).to_be_visible()
    row = page.locator(f"#delivery-{delivery_id}")
    expect(row.locator(".badge")).to_have_text("success", timeout=10_000)
    expect(row.locator("td.num").first).to_have_text("200")
    row.locator("td.created").click()  # anywhere on the row
    payload = row.locator("pre.payload")
    expect(payload).to_contain_text('"name": "Ship the release"')
    sent = json.loads(receiver.requests[0].body)
    assert payload.inner_text() == json.dumps(sent, indent=2, ensure_ascii=False)
    attempts = row.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_contain_text("200")
    expect(attempts.first).to_contain_text("ok")
    screenshot(page, "delivery-detail")
    row.get_by_role("link", name="task.created").click()  # the event link toggles it too
    expect(row.locator("pre.payload")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/webhooks/{webhook_id}/deliveries$"))


def test_a_pending_row_turns_failed_by_itself_and_retry_makes_it_succeed(
        admin_page, seeded, receiver):
    page = admin_page
    webhook_id = make_webhook(seeded, receiver.url())
    # A slow first 500 (1.5 s), then two quick ones: pending for about three seconds.
    receiver.script = deque([("trickle", 0.15, 10, 500), 500, 500])
    delivery_id = send_event(seeded)
    page.goto(f"{seeded.url}/webhooks/{webhook_id}/deliveries")
    page.evaluate("window.notReloaded = true")
    row = page.locator(f"#delivery-{delivery_id}")
    expect(row.locator(".badge")).to_have_text("pending")
    expect(row.locator(".badge")).to_have_text("failed", timeout=15_000)
    expect(row.locator("td.num").nth(1)).to_have_text("3")
    expect(row.locator("td.status[hx-trigger]")).to_have_count(0)  # polling has stopped
    assert page.evaluate("window.notReloaded") is True
    row.get_by_role("button", name="Retry").click()  # the receiver answers 200 again
    expect(row.locator(".badge")).to_have_text("success", timeout=15_000)
    expect(row.locator("td.num").nth(1)).to_have_text("4")
    expect(row.locator("pre.payload")).to_have_count(0)  # the click did not open the row
    assert page.evaluate("window.notReloaded") is True
    assert len(receiver.requests) == 4


def test_status_filter_is_kept_in_the_url_across_reload_and_back(admin_page, seeded, receiver):
    page = admin_page
    webhook_id = make_webhook(seeded, receiver.url())
    ids = seed_history(seeded, webhook_id)
    page.goto(f"{seeded.url}/webhooks/{webhook_id}/deliveries")
    rows = page.locator("tbody.delivery")
    expect(rows).to_have_count(5)
    test_row = page.locator(f"#delivery-{ids['test']}")
    expect(test_row.get_by_role("button", name="Retry")).to_be_disabled()
    expect(test_row).to_contain_text("test sends are not retried")
    screenshot(page, "deliveries")
    filters = page.get_by_role("navigation", name="Filter by status")
    filters.get_by_role("link", name="Failed").click()
    expect(page).to_have_url(re.compile(r"/deliveries\?status=failed$"))
    expect(rows).to_have_count(2)
    expect(page.locator(f"#delivery-{ids['failed']} .badge")).to_have_text("failed")
    page.reload()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name="Failed")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Pending").click()
    expect(page).to_have_url(re.compile(r"\?status=pending$"))
    expect(page.locator(f"#delivery-{ids['pending']} .badge")).to_have_text("pending")
    expect(rows).to_have_count(1)
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?status=failed$"))
    expect(page.locator(f"#delivery-{ids['failed']}")).to_be_visible()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="All", exact=True).click()
    expect(page).to_have_url(re.compile(r"/deliveries$"))
    expect(rows).to_have_count(5)


def test_older_rows_load_on_scroll_without_duplicates(admin_page, seeded, receiver):
    page = admin_page
    webhook_id = make_webhook(seeded, receiver.url())
    seeded_ids = seed_history(seeded, webhook_id,
                              [(f"d{n}", "task.created", "success", [200]) for n in range(70)])
    page.goto(f"{seeded.url}/webhooks/{webhook_id}/deliveries")
    rows = page.locator("tbody.delivery")
    expect(rows).to_have_count(50)
    page.locator("tbody.more").scroll_into_view_if_needed()
    expect(rows).to_have_count(70)
    expect(page.locator("tbody.more")).to_have_count(0)
    shown = [int(i.split("-")[1]) for i in rows.evaluate_all("rows => rows.map(r => r.id)")]
    assert shown == sorted(seeded_ids.values(), reverse=True)
