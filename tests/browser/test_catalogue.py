"""The event catalogue in a real browser: opened from the project menu, "Send example" to a
chosen webhook shows its outcome inline, and the receiver on 127.0.0.1 gets it signed and
marked as an example."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from webhooks import manage
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.models import Project

from .conftest import idle, screenshot


def add_webhook(server, url: str) -> tuple[int, str]:
    """A webhook of project 774 for task.created only; returns its id and secret."""
    def create():
        webhook, secret = manage.create_webhook(
            db.session, server.app.extensions["secret_box"], HostPolicy.parse("loopback"),
            db.session.get(Project, 774), url, ["task.created"], utcnow())
        db.session.commit()
        return webhook.id, secret
    return server.query(create)


def test_send_example_from_the_catalogue_arrives_signed_and_marked(admin_page, seeded, receiver):
    page = admin_page
    add_webhook(seeded, receiver.url("/first"))
    webhook_id, secret = add_webhook(seeded, receiver.url("/chosen"))
    page.goto(seeded.url + "/projects/774/webhooks")
    page.locator("[data-project-menu]", has_text="TaskView").click(button="right")
    page.get_by_role("menuitem", name="Event catalogue").click()
    expect(page).to_have_url(re.compile(r"/projects/774/events/catalogue$"))
    event = page.locator("article#sprint-completed")
    expect(event.locator("pre.payload")).to_contain_text('"status": "completed"')
    page.get_by_label("Send examples to").select_option(receiver.url("/chosen"))
    with page.expect_response(lambda r: r.request.method == "POST") as sent:
        event.get_by_role("button", name="Send example").click()
    assert sent.value.request.headers.get("hx-request") == "true"  # swapped in, no reload
    result = event.locator("#example-outcome-sprint-completed")
    expect(result).to_contain_text("Example delivered: HTTP 200 in")
    expect(result).to_contain_text("which does not subscribe to sprint.completed")
    idle(page)
    screenshot(page, "catalogue", full_page=False)
    [request] = receiver.wait_for(1)
    assert request.path == "/chosen"
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
    assert request.headers["X-Webhook-Example"] == "true"
    assert request.headers["X-Webhook-Event"] == "sprint.completed"
    assert json.loads(request.body)["goalId"] == 774
    result.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(rf"/webhooks/{webhook_id}/deliveries$"))
    row = page.locator(f"#delivery-{request.headers['X-Webhook-Delivery']}")
    expect(row.locator(".badge-example")).to_have_text("example")
    expect(row).to_contain_text("examples are not resent")
    assert len(receiver.requests) == 1
