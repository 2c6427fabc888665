"""Rotating SECRET_KEY (SPEC §6): with the old key in SECRET_KEY_FALLBACKS sessions and stored
webhook secrets stay readable; `flask secrets rotate` re-encrypts every secret under the new key,
after which the old key can go."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select, update

from webhooks import create_app
from webhooks.crypto import SecretBox, StoredKey
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.keys import rotate_stored, stored_keys
from webhooks.models import Webhook

from .conftest import CSRF_RE
from .helpers import Browser, seed_backlog
from .processes import Process, flask, flask_env, free_port, setup_tenant, wait_http

OLD, NEW = "the old secret key", "the new secret key"


def test_a_box_encrypts_under_its_key_and_reads_under_any_fallback():
    old, new = SecretBox(OLD), SecretBox(NEW, [OLD])
    stored = old.encrypt("whsec_abc")
    assert new.decrypt(stored) == "whsec_abc"
    assert new.key_of(stored) is StoredKey.FALLBACK
    assert new.key_of(new.encrypt("x")) is StoredKey.CURRENT
    rotated = new.rotate(stored)
    assert new.key_of(rotated) is StoredKey.CURRENT and SecretBox(NEW).decrypt(rotated) == \
        "whsec_abc"
    assert SecretBox("another").key_of(stored) is StoredKey.UNREADABLE
    with pytest.raises(ValueError, match="SECRET_KEY_FALLBACKS"):
        SecretBox(NEW).decrypt(stored)
    with pytest.raises(ValueError):
        SecretBox(NEW).rotate(stored)


@pytest.fixture
def config_overrides():
    return {"SECRET_KEY": NEW, "SECRET_KEY_FALLBACKS": [OLD]}


def _saved_under(app, key: str, project, clock, count: int) -> list[str]:
    """`count` webhooks whose secrets were saved by a process with `key`; their plaintexts."""
    seed_backlog(app, project, clock, [f"http://127.0.0.1:9/{i}" for i in range(count)], 0)
    box, plain = SecretBox(key), []
    for webhook in db.session.scalars(select(Webhook).order_by(Webhook.id)):
        plain.append(app.extensions["secret_box"].decrypt(webhook.secret_encrypted))
        webhook.secret_encrypted = box.encrypt(plain[-1])
    db.session.commit()
    return plain


def test_flask_secrets_rotate_re_encrypts_every_secret_and_says_how_many(app, runner, project,
                                                                         clock):
    plain = _saved_under(app, OLD, project, clock, 3)
    db.session.execute(update(Webhook).where(Webhook.id == 3).values(
        secret_encrypted=app.extensions["secret_box"].encrypt(plain[2])))  # one already new
    db.session.commit()
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 webhook secrets under the current SECRET_KEY (1 already were)" in \
        result.stdout
    only_new = SecretBox(NEW)
    db.session.rollback()
    assert [only_new.decrypt(s) for s in db.session.scalars(
        select(Webhook.secret_encrypted).order_by(Webhook.id))] == plain
    again = runner.invoke(args=["secrets", "rotate"])
    assert "re-encrypted 0 webhook secrets under the current SECRET_KEY (3 already were)" in \
        again.stdout


def test_flask_secrets_rotate_fails_on_a_secret_no_key_reads_and_keeps_it(app, runner, project,
                                                                         clock):
    _saved_under(app, "a key nobody kept", project, clock, 1)
    before = db.session.scalar(select(Webhook.secret_encrypted))
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 1
    assert "1 webhook secret could not be decrypted" in result.output
    db.session.rollback()
    assert db.session.scalar(select(Webhook.secret_encrypted)) == before


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer
def test_rotation_leaves_a_secret_changed_meanwhile_alone(app, project, clock):
    _saved_under(app, OLD, project, clock, 1)
    box = app.extensions["secret_box"]

    class Racing(SecretBox):
        def rotate(self, ciphertext):  # a user rotates the webhook's secret at this moment
            with db.engine.begin() as conn:
                conn.execute(update(Webhook).values(secret_encrypted=box.encrypt("whsec_new")))
            return super().rotate(ciphertext)

    found = rotate_stored(db.session, Racing(NEW, [OLD]))
    assert found[StoredKey.FALLBACK] == 1
    assert box.decrypt(db.session.scalar(select(Webhook.secret_encrypted))) == "whsec_new"


def test_doctor_counts_the_secrets_still_under_an_old_key(app, runner, project, clock,
                                                         stamp_head):
    stamp_head()
    _saved_under(app, OLD, project, clock, 2)
    output = runner.invoke(args=["doctor"]).output
    assert "2 webhook secrets are still encrypted under a key in SECRET_KEY_FALLBACKS: run " \
           "`flask secrets rotate`" in output
    runner.invoke(args=["secrets", "rotate"])
    output = runner.invoke(args=["doctor"]).output
    assert "2 webhook secrets decrypt with this SECRET_KEY" in output
    assert "SECRET_KEY_FALLBACKS: run" not in output
    assert stored_keys(db.session, SecretBox(NEW)) == {StoredKey.CURRENT: 2}


def _app_with(database_url: str, key: str, fallbacks=()):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                       "SECRET_KEY": key, "SECRET_KEY_FALLBACKS": list(fallbacks)})


def _with_cookie(app, cookie: str) -> Browser:
    browser = Browser(app)
    browser.client.set_cookie("session", cookie)
    return browser


def test_a_session_survives_a_key_change_while_the_old_key_is_a_fallback(app, admin,
                                                                       database_url):
    old_app = _app_with(database_url, OLD)
    browser = Browser(old_app)
    token = CSRF_RE.search(browser.get("/login").get_data(as_text=True)).group(1)
    browser.post("/login", data={"email": "admin@example.com", "password": "correct horse",
                                 "csrf_token": token})
    assert browser.get("/tokens").status_code == 200
    cookie = browser.client.get_cookie("session").value
    new_only, both = _app_with(database_url, NEW), _app_with(database_url, NEW, [OLD])
    assert _with_cookie(new_only, cookie).get("/tokens").status_code == 302
    rotated = _with_cookie(both, cookie)
    assert rotated.get("/tokens").status_code == 200
    resigned = rotated.client.get_cookie("session").value  # every answer signs it anew
    assert resigned != cookie
    assert _with_cookie(new_only, resigned).get("/tokens").status_code == 200
    for made in (old_app, new_only, both):
        with made.app_context():
            db.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)  # rotate_stored: both
def test_deliveries_stay_signed_with_the_same_secret_through_a_key_rotation(empty_database,
                                                                          receiver, tmp_path):
    """Old key → new key with the old in SECRET_KEY_FALLBACKS → `flask secrets rotate` → the
    old key dropped: every delivery on the way is signed with the secret shown at creation."""
    env = flask_env(empty_database, SECRET_KEY=OLD, WEBHOOKS_POLL_SECONDS="0.1")
    token = setup_tenant(env)
    headers = {"Authorization": f"Bearer {token}"}
    secret = None
    stages = [{"SECRET_KEY": OLD}, {"SECRET_KEY": NEW, "SECRET_KEY_FALLBACKS": OLD},
              {"SECRET_KEY": NEW}]
    for n, keys in enumerate(stages):
        if n == 2:
            out = flask({**env, "SECRET_KEY": NEW, "SECRET_KEY_FALLBACKS": OLD},
                        "secrets", "rotate")
            assert "re-encrypted 1 webhook secret under the current SECRET_KEY" in out
        port = free_port()
        server = Process({**env, **keys}, tmp_path / f"web{n}.log", "run", "--port", str(port))
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/healthz")
            if secret is None:
                secret = requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers,
                                       json={"url": receiver.url(), "events": ["task.created"]},
                                       timeout=10).json()["secret"]
            assert requests.post(f"{base}/api/v1/events", headers=headers, timeout=10, json={
                "event": "task.created", "task": {"id": n, "goalId": 774}}).status_code == 202
            request = receiver.wait_for(n + 1)[n]
            assert request.headers["X-Webhook-Signature"] == sign(request.body, secret), keys
        finally:
            server.stop()
