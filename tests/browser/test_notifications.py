"""Notifications in a real browser (SPEC §9): the operational webhook set from the page with its
secret shown once, the administrators' mail test, a member's opt-out, and a webhook that starts
failing under the live scheduler, told by mail and by a signed POST, then listed on the page."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from playwright.sync_api import expect

from webhooks import manage
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.mail import SmtpMailer, parse_smtp_url
from webhooks.models import Project, User, Webhook

from ..receiver import Receiver
from .conftest import ADMIN_EMAIL, idle, screenshot


@pytest.fixture
def mailing(seeded, mail_server):
    """The live server with mail on, through the loopback SMTP server."""
    app = seeded.app
    app.config["WEBHOOKS_SMTP_URL"] = parse_smtp_url(mail_server.url())
    app.config["DELIVERY"] = replace(app.config["DELIVERY"], mail_enabled=True)
    seeded.runner.dispatcher.settings = app.config["DELIVERY"]
    seeded.runner.notifier.mailer = SmtpMailer(app.config["WEBHOOKS_SMTP_URL"])
    return seeded


def test_failing_webhook_is_told_by_mail_and_to_the_operational_webhook(admin_page, mailing,
                                                                         mail_server):
    page, server = admin_page, mailing
    hook, ops = Receiver(), Receiver()
    hook.default = 500
    try:
        page.goto(server.url + "/projects/774/webhooks")
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="Notifications TaskView #774")).to_be_visible()
        page.get_by_label("Operational webhook URL").fill(ops.url("/ops"))
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("it will not be shown again")).to_be_visible()
        secret = page.locator("#notify-secret").inner_text()

        page.get_by_role("button", name="Send me a test email").click()
        expect(page.locator("#mail-test-result")).to_have_text(
            f"Sent a test email to {ADMIN_EMAIL}.")
        (test_mail,) = mail_server.wait_for(1)
        assert test_mail["Subject"] == "Test email from Webhooks"

        def seed():
            project = db.session.get(Project, 774)
            webhook, _ = manage.create_webhook(db.session, server.app.extensions["secret_box"],
                                               HostPolicy.parse("loopback"), project,
                                               hook.url(), ["task.created"], utcnow())
            webhook.consecutive_failures = 4  # the next failed delivery is the 5th
            db.session.commit()
            store_event(db.session, 774, {"event": "task.created",
                                          "task": {"id": 1, "goalId": 774}}, utcnow())
            return webhook.id
        webhook_id = server.query(seed)
        server.runner.wake()
        (notice,) = ops.wait_for(1, timeout=20)
        assert notice.headers["X-Webhook-Signature"] == sign(notice.body, secret)
        assert json.loads(notice.body)["event"] == "webhook.failing"
        mails = mail_server.wait_for(2, timeout=20)
        assert mails[1]["Subject"] == f"Webhook is failing: {hook.url()}"
        assert server.query(lambda: db.session.get(Webhook, webhook_id).consecutive_failures) == 5

        page.reload()
        rows = page.locator("table.notices tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="POST")).to_contain_text("success")
        expect(rows.filter(has_text=f"email to {ADMIN_EMAIL}")).to_contain_text("webhook.failing")
        screenshot(page, "notifications")
    finally:
        hook.close()
        ops.close()


def test_a_member_turns_the_emails_off_on_the_account_page(admin_page, seeded):
    page = admin_page
    page.goto(seeded.url + "/account")
    box = page.get_by_label("Email me when a webhook of my projects starts failing")
    expect(box).to_be_checked()
    box.uncheck()
    page.locator("form", has=box).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("no more emails about failing webhooks")
    idle(page)
    expect(box).not_to_be_checked()
    assert seeded.query(lambda: db.session.query(User).one().notify_email) is False
