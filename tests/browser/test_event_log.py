"""The event log, resend, replay and "retry failed" of a time window in a real browser, with the
live server's scheduler delivering to a real receiver on 127.0.0.1."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from webhooks.clock import utcnow
from webhooks.extensions import db
from webhooks.models import Delivery

from .conftest import idle, screenshot
from .test_deliveries_page import make_webhook, seed_history, send_event


def accept_next_confirm(page) -> None:
    """hx-confirm asks with window.confirm, which Playwright would dismiss."""
    page.once("dialog", lambda dialog: dialog.accept())


def test_a_delivery_id_finds_its_event_and_resend_arrives_again_with_the_same_id(
        admin_page, seeded, receiver):
    page = admin_page
    make_webhook(seeded, receiver.url())
    delivery_id = send_event(seeded)
    first = receiver.wait_for(1)[0]
    assert first.headers["X-Webhook-Delivery"] == str(delivery_id)
    for n, name in enumerate(("Write the changelog", "Tag the release"), start=10):
        send_event(seeded, {"id": n, "goalId": 774, "name": name})
    receiver.wait_for(3)
    page.locator("[data-project-menu]", has_text="TaskView").click(button="right")
    page.get_by_role("menuitem", name="Event log").click()
    expect(page).to_have_url(re.compile(r"/projects/774/events$"))
    expect(page.locator("tr.event-row .badge-success")).to_have_count(3)
    screenshot(page, "event-log")
    page.get_by_label("Outcome").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/projects/774/events\?.*status=failed"))
    expect(page.locator("table.events")).to_contain_text("No events match these filters.")
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("tr.event-row")).to_have_count(3)
    search = page.get_by_label("Find an event")
    search.fill("evt_nothing_here")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#q-error")).to_contain_text("no event or delivery")
    search.fill(first.headers["X-Webhook-Delivery"])  # what the receiver logged
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(rf"/events/evt_\w+#delivery-{delivery_id}$"))
    expect(page.locator("pre.payload")).to_contain_text('"name": "Ship the release"')
    row = page.locator(f"#delivery-{delivery_id}")
    expect(row.locator(".badge")).to_have_text("success")
    screenshot(page, "event")
    row.get_by_role("link", name=f"Delivery {delivery_id}").click()
    expect(page).to_have_url(re.compile(rf"/deliveries/{delivery_id}$"))
    summary = page.locator(f"#delivery-{delivery_id} tr.summary")
    summary.get_by_role("button", name="Resend").click()
    again = receiver.wait_for(4)[3]
    assert again.headers["X-Webhook-Delivery"] == str(delivery_id)
    assert again.body == first.body
    expect(summary.locator(".badge")).to_have_text("success")  # the row polled itself
    expect(summary.locator("td.num").nth(1)).to_have_text("2")  # attempts


def test_replay_sends_new_deliveries_to_the_webhooks_subscribed_now(admin_page, seeded, receiver):
    page = admin_page
    make_webhook(seeded, receiver.url("/first"))
    delivery_id = send_event(seeded)
    original = receiver.wait_for(1)[0]
    make_webhook(seeded, receiver.url("/second"))  # subscribed after the event was sent
    event_id = seeded.query(lambda: db.session.get(Delivery, delivery_id).event_id)
    page.goto(f"{seeded.url}/events/{event_id}")
    accept_next_confirm(page)
    page.get_by_role("button", name="Replay").click()
    expect(page.locator("#event-deliveries .notice")).to_have_text("2 new deliveries queued.")
    replayed = receiver.wait_for(3)[1:]
    assert sorted(r.path for r in replayed) == ["/first", "/second"]
    new_ids = {r.headers["X-Webhook-Delivery"] for r in replayed}
    assert len(new_ids) == 2 and str(delivery_id) not in new_ids
    assert all(r.body == original.body for r in replayed)
    table = page.locator("#event-delivery-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator(".badge-success")).to_have_count(3)  # the table polled itself
    for new_id in new_ids:
        expect(table.get_by_role("link", name=f"Delivery {new_id}")).to_be_visible()


def test_retry_failed_of_the_last_24_hours_reports_its_count(admin_page, seeded, receiver):
    page = admin_page
    webhook_id = make_webhook(seeded, receiver.url())
    ids = seed_history(seeded, webhook_id,
                       [(f"f{n}", "task.created", "failed", [500]) for n in range(3)])

    def age_the_first():
        db.session.execute(update(Delivery).where(Delivery.id == ids["f0"])
                           .values(created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    seeded.query(age_the_first)
    page.goto(f"{seeded.url}/webhooks/{webhook_id}/deliveries")
    window = page.get_by_label("Time window")
    expect(page.locator("#retry-from")).to_be_hidden()
    window.select_option(label="Between…")
    expect(page.locator("#retry-from")).to_be_visible()
    window.select_option(label="Last 24 hours")
    accept_next_confirm(page)
    page.get_by_role("button", name="Retry all failed").click()
    expect(page.locator("#history .notice")).to_have_text("2 failed deliveries queued for retry.")
    idle(page)
    sent = receiver.wait_for(2)
    assert sorted(r.headers["X-Webhook-Delivery"] for r in sent) == sorted(
        [str(ids["f1"]), str(ids["f2"])])
    expect(page.get_by_label("Time window")).to_have_value("24h")
    for name in ("f1", "f2"):
        expect(page.locator(f"#delivery-{ids[name]} .badge")).to_have_text("success")
    expect(page.locator(f"#delivery-{ids['f0']} .badge")).to_have_text("failed")
    assert len(receiver.requests) == 2
