"""The webhooks page in a real browser: add (secret once), edit, toggle, test, rotate, delete."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from webhooks import manage
from webhooks.clock import utcnow
from webhooks.dbtx import writing
from webhooks.delivery.hosts import HostPolicy
from webhooks.events import EVENT_TYPES
from webhooks.extensions import db
from webhooks.models import Delivery, Event, Project, Webhook

from .conftest import idle, screenshot


def stored_webhooks(server) -> list[tuple[str, list[str], bool, str]]:
    """(url, events, active, secret) of every webhook, by id."""
    def read():
        box = server.app.extensions["secret_box"]
        return [(w.url, w.event_list, w.active, box.decrypt(w.secret_encrypted))
                for w in db.session.scalars(select(Webhook).order_by(Webhook.id))]
    return server.query(read)


def seed_webhooks(server, receiver_url: str) -> int:
    """Three webhooks: one healthy with a history, one deactivated by failures, one new.
    Returns the id of the healthy one."""
    def seed():
        box, now = server.app.extensions["secret_box"], utcnow()
        project = db.session.get(Project, 774)

        def add(url, events, outcomes, **values):
            webhook, _ = manage.create_webhook(db.session, box, HostPolicy.parse("*"), project,
                                               url, events, now - timedelta(days=2))
            for key, value in values.items():
                setattr(webhook, key, value)
            for i, status in enumerate(outcomes):
                at = now - timedelta(minutes=5 * (len(outcomes) - i))
                event_id = uuid.uuid4().hex
                db.session.add(Event(id=event_id, project_id=774, type="task.updated",
                                     body="{}", delivery_count=1, created_at=at))
                db.session.flush()
                db.session.add(Delivery(
                    webhook_id=webhook.id, event_id=event_id, event_type="task.updated",
                    status=status, attempts=1 if status == "success" else 3,
                    cycle_attempts=1, http_code={"success": 200, "failed": 503}.get(status),
                    created_at=at, completed_at=None if status == "pending" else at,
                    next_attempt_at=now + timedelta(days=1) if status == "pending" else None))
            return webhook

        healthy = add(receiver_url, ["task.created", "task.updated", "sprint.completed"],
                      ["success"] * 20 + ["failed"] * 2 + ["success"] * 17 + ["pending"])
        add("http://127.0.0.1:9/ci-pipeline", ["time-entry.started", "time-entry.stopped"],
            ["success"] * 6 + ["failed"] * 10, active=False, consecutive_failures=10,
            deactivated_at=now - timedelta(minutes=4),
            deactivation_reason="10 consecutive deliveries failed")
        add("http://localhost:4545/dashboard", list(EVENT_TYPES), [])
        db.session.commit()
        return healthy.id

    with writing():  # SQLite: take the write lock up front (the live scheduler writes too)
        return server.query(seed)


def test_add_webhook_shows_the_secret_once(admin_page, seeded, receiver):
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(seeded.url + "/projects/774/webhooks")
    expect(page.get_by_text("No webhooks yet")).to_be_visible()
    page.get_by_role("button", name="Add Webhook").click()
    idle(page)
    url = page.get_by_label("URL")
    expect(url).to_be_focused()

    url.press_sequentially("ftp://127.0.0.1/hook")  # checked as you type
    expect(page.locator("#url-error")).to_contain_text("http:// or https://")
    url.fill(receiver.url())
    url.press("End")  # a key press fires input; the error goes once the URL is fine
    expect(page.locator("#url-error")).to_have_count(0)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#events-error")).to_have_text("select at least one event")
    idle(page)

    task = page.get_by_role("group", name="Task")
    task.get_by_label("Select all").check()
    for box in task.locator("input[name=events]").all():
        expect(box).to_be_checked()
    page.get_by_role("group", name="Sprints").get_by_label("sprint.completed").check()
    page.get_by_role("button", name="Add", exact=True).click()

    panel = page.locator(".secret-panel")
    expect(panel).to_contain_text(
        "Copy the secret and store it securely - it will not be shown again")
    secret = page.locator("#new-secret").inner_text()
    [(stored_url, events, active, stored_secret)] = stored_webhooks(seeded)
    assert (stored_url, active, stored_secret) == (receiver.url(), True, secret)
    assert events == ["task.created", "task.updated", "task.deleted", "task.assigneesChanged",
                      "sprint.completed", "task.assignedToSprint"]
    expect(page.locator("tbody.webhook")).to_have_count(1)
    expect(page.get_by_text("No webhooks yet")).to_be_hidden()
    screenshot(page, "add-webhook-secret")
    panel.get_by_role("button", name="Copy secret").click()
    expect(panel.locator("[data-copy-target]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()
    expect(page.locator("tbody.webhook")).to_have_count(1)
    assert secret not in page.content()


def test_edit_toggle_test_rotate_and_delete(admin_page, seeded, receiver):
    page = admin_page
    webhook_id = seed_webhooks(seeded, receiver.url())
    page.goto(seeded.url + "/projects/774/webhooks")
    rows = page.locator("tbody.webhook")
    expect(rows).to_have_count(3)
    deactivated = rows.nth(1)
    expect(deactivated.get_by_text("Deactivated automatically")).to_be_visible()
    expect(deactivated).to_contain_text("10 consecutive deliveries failed")
    strip = rows.first.get_by_role("img", name=re.compile("Last 40 deliveries"))
    expect(strip).to_have_attribute("aria-label", re.compile("37 succeeded, 2 failed, 1 pending"))
    screenshot(page, "webhooks")

    row = page.locator(f"#webhook-{webhook_id}")
    row.get_by_role("button", name="Edit").click()
    idle(page)
    page.get_by_label("URL").fill(receiver.url("/v2"))
    page.get_by_role("group", name="Task").get_by_label("task.updated").uncheck()
    page.get_by_role("group", name="Time entries").get_by_label("time-entry.started").check()
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".url-text")).to_have_text(receiver.url("/v2"))
    expect(row.get_by_text("time-entry.started")).to_be_visible()
    idle(page)
    assert stored_webhooks(seeded)[0][:2] == (
        receiver.url("/v2"), ["task.created", "time-entry.started", "sprint.completed"])

    switch = row.get_by_role("switch", name="Active")
    switch.focus()
    page.keyboard.press("Space")  # keyboard-usable; focus stays on the swapped-in switch
    expect(switch).to_have_attribute("aria-checked", "false")
    idle(page)
    expect(row.get_by_text("Turned off")).to_be_visible()
    assert stored_webhooks(seeded)[0][2] is False
    expect(switch).to_be_focused()
    page.keyboard.press("Space")
    expect(switch).to_have_attribute("aria-checked", "true")
    assert stored_webhooks(seeded)[0][2] is True
    idle(page)

    row.get_by_role("button", name="Test").click()
    result = row.get_by_role("status")
    expect(result).to_contain_text("Test delivered: HTTP 200 in")
    expect(result).to_contain_text(" ms")
    idle(page)
    assert receiver.requests[-1].headers["X-Webhook-Event"] == "webhook.test"

    old_secret = stored_webhooks(seeded)[0][3]
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Rotate secret").click()
    shown = row.locator(f"#secret-{webhook_id}")
    expect(shown).to_be_visible()
    expect(row).to_contain_text("it will not be shown again")
    assert shown.inner_text() == stored_webhooks(seeded)[0][3] != old_secret
    idle(page)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(rows).to_have_count(2)
    assert [w[0] for w in stored_webhooks(seeded)] == [
        "http://127.0.0.1:9/ci-pipeline", "http://localhost:4545/dashboard"]
    left = seeded.query(lambda: db.session.scalars(select(Delivery.webhook_id).distinct()).all())
    assert left and webhook_id not in left
