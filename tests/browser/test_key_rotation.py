"""Rotating SECRET_KEY end to end, in a real browser (SPEC §6): a webhook added under the old
key; the service restarted with a new key and the old one in SECRET_KEY_FALLBACKS; `flask
secrets rotate`; restarted again without the fallback. The browser stays signed in throughout,
and every delivery is signed with the secret the page showed when the webhook was added."""
from __future__ import annotations

import shutil
import tempfile

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from webhooks import create_app
from webhooks.auth import create_token, create_user
from webhooks.clock import utcnow
from webhooks.crypto import SecretBox
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.models import Base, Project, User, Webhook

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, idle, sign_in

OLD, NEW = "the old secret key", "the new secret key"


def serve(folder: str, **config) -> LiveServer:
    """The service on the database in `folder`, with these settings, over real HTTP."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/live.sqlite3",
        "WEBHOOKS_ALLOWED_HOSTS": "loopback", "WEBHOOKS_POLL_SECONDS": 0.2,
        "WEBHOOKS_TIMEOUT_SECONDS": 2.0, "SCHEDULER_ENABLED": False, **config,
    })
    with app.app_context():
        Base.metadata.create_all(db.engine)
    server = LiveServer(app)
    server.start()
    return server


def stop(server: LiveServer) -> None:
    server.stop()
    with server.app.app_context():
        db.engine.dispose()


def seed(server: LiveServer) -> str:
    """The administrator, project 774 and an ingest token; returns the token."""
    def add():
        now = utcnow()
        admin = create_user(db.session, ADMIN_EMAIL, ADMIN_PASSWORD, True, now)
        db.session.add(Project(id=774, name="TaskView", created_at=now, updated_at=now))
        _, token = create_token(db.session, admin, "ingest", "events:write", None, None, now)
        db.session.commit()
        return token
    return server.query(add)


def add_webhook(page, server, url: str) -> str:
    """Add a webhook through the page; return the secret it shows once."""
    page.goto(server.url + "/projects/774/webhooks")
    page.get_by_role("button", name="Add Webhook").click()
    idle(page)
    page.get_by_label("URL").fill(url)
    page.get_by_role("group", name="Task").get_by_label("task.created").check()
    page.get_by_role("button", name="Add", exact=True).click()
    return page.locator("#new-secret").inner_text().strip()


def still_signed_in_and_signing_with(page, server, token: str, secret: str, receiver) -> None:
    """The page opens signed in; a test send and an ingested event arrive signed with
    `secret`."""
    page.goto(server.url + "/projects/774/webhooks")
    row = page.locator("tbody.webhook")
    expect(row).to_have_count(1)
    expect(page.get_by_role("link", name=ADMIN_EMAIL)).to_be_visible()
    seen = len(receiver.requests)
    row.get_by_role("button", name="Test").click()
    expect(row.get_by_role("status")).to_contain_text("Test delivered: HTTP 200 in")
    idle(page)
    assert requests.post(f"{server.url}/api/v1/events", timeout=10, json={
        "event": "task.created", "task": {"id": seen, "goalId": 774}},
        headers={"Authorization": f"Bearer {token}"}).status_code == 202
    arrived = receiver.wait_for(seen + 2)[seen:]
    assert sorted(r.headers["X-Webhook-Event"] for r in arrived) == [
        "task.created", "webhook.test"]
    for request in arrived:
        assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)


def stored_secret(server) -> str:
    return server.query(lambda: db.session.scalar(select(Webhook.secret_encrypted)))


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="webhooks-rotation-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_rotating_secret_key_signs_nobody_out_and_changes_no_signature(page, receiver, folder):
    server = serve(folder, SECRET_KEY=OLD)
    try:
        token = seed(server)
        sign_in(page, server)
        secret = add_webhook(page, server, receiver.url())
        still_signed_in_and_signing_with(page, server, token, secret, receiver)
    finally:
        stop(server)
    assert SecretBox(OLD).decrypt(stored_secret(server)) == secret

    server = serve(folder, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    try:
        still_signed_in_and_signing_with(page, server, token, secret, receiver)
        result = server.app.test_cli_runner().invoke(args=["secrets", "rotate"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 1 webhook secret under the current SECRET_KEY" in result.output
    finally:
        stop(server)

    server = serve(folder, SECRET_KEY=NEW)
    try:
        assert SecretBox(NEW).decrypt(stored_secret(server)) == secret
        still_signed_in_and_signing_with(page, server, token, secret, receiver)
        assert server.query(lambda: db.session.scalar(select(User.email))) == ADMIN_EMAIL
    finally:
        stop(server)
