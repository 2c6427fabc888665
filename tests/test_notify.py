"""Notices (SPEC §9) against a real SMTP server and a real receiver on loopback, time moved by a
fake clock: who is told, exactly once, signed, retried, and never at a delivery's expense."""
from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from webhooks import manage
from webhooks.auth import create_user
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.mail import SmtpMailer, parse_smtp_url
from webhooks.models import Notice, User, Webhook
from webhooks.notify import crossed, failing_mark
from webhooks.scheduler import notifier_for

from .helpers import task_event
from .receiver import Receiver
from .smtp import MailServer

THRESHOLD = 10


@pytest.fixture
def config_overrides(mail_server):
    return {"WEBHOOKS_RETRY_DELAYS": (), "WEBHOOKS_SMTP_URL": parse_smtp_url(mail_server.url()),
            "WEBHOOKS_BASE_URL": "https://hooks.example.com"}


@pytest.fixture
def notify(app, clock):
    """Send due notices with the app's real mailer and sender; returns how many were tried."""
    def run() -> int:
        db.session.commit()
        return notifier_for(app, sessionmaker(bind=db.engine, expire_on_commit=False)
                            ).run_until_idle()
    return run


@pytest.fixture
def team(app, project, admin, clock):
    """The admin (opted in), a member opted in, a member opted out, and an outsider."""
    users = {}
    for email, member, opted_in in (("dev@example.com", True, True),
                                    ("quiet@example.com", True, False),
                                    ("other@example.com", False, True)):
        user = create_user(db.session, email, "correct horse", False, clock())
        user.notify_email = opted_in
        if member:
            project.members.append(user)
        users[email] = user
    db.session.commit()
    return users


@pytest.fixture
def hook(app, project, receiver, clock):
    webhook, _ = manage.create_webhook(db.session, app.extensions["secret_box"],
                                       HostPolicy.parse("loopback"), project, receiver.url(),
                                       ["task.created"], clock())
    db.session.commit()
    return webhook


@pytest.fixture
def ops_receiver():
    server = Receiver()
    yield server
    server.close()


def fail_deliveries(client, auth_headers, dispatch, receiver, count: int) -> None:
    receiver.default = 500
    for n in range(count):
        response = client.post("/api/v1/events", headers=auth_headers,
                               json=task_event(id=n))
        assert response.status_code == 202
        dispatch()


def set_notify_url(app, project, url: str) -> str:
    secret = manage.set_notify_url(project, app.extensions["secret_box"],
                                   HostPolicy.parse("loopback"), url, project.created_at)
    db.session.commit()
    return secret


@pytest.mark.parametrize("threshold, mark", [(10, 5), (11, 5), (3, 1), (2, 1), (1, None)])
def test_failing_is_half_the_threshold_when_that_is_below_it(threshold, mark):
    assert failing_mark(threshold) == mark


@pytest.mark.parametrize("before, outcomes, hit", [
    (4, [False], True), (3, [False, False], True), (5, [False], False), (0, [False] * 4, False),
    (4, [True, False], False), (4, [False, True, False, False, False, False], True),
    (3, [False, True], False),
])
def test_a_crossing_is_the_counter_stepping_onto_the_mark(before, outcomes, hit):
    assert crossed(before, outcomes, 5) is hit


def test_failing_5_then_10_times_mails_each_opted_in_member_once_of_each(
        app, client, auth_headers, hook, receiver, dispatch, notify, mail_server, team):
    fail_deliveries(client, auth_headers, dispatch, receiver, 4)
    assert notify() == 0, "nothing crossed yet"
    fail_deliveries(client, auth_headers, dispatch, receiver, 1)
    assert notify() == 2
    fail_deliveries(client, auth_headers, dispatch, receiver, 5)
    assert notify() == 2
    fail_deliveries(client, auth_headers, dispatch, receiver, 3)  # off: no more crossings
    assert notify() == 0
    mails = mail_server.wait_for(4)
    assert sorted(m["To"] for m in mails) == ["admin@example.com"] * 2 + ["dev@example.com"] * 2
    failing, deactivated = mail_server.to("dev@example.com")
    url = receiver.url()
    assert failing["Subject"] == f"Webhook is failing: {url}"
    assert deactivated["Subject"] == f"Webhook was deactivated: {url}"
    text = deactivated.get_content()
    assert "Reason: 10 consecutive deliveries failed" in text
    assert "Consecutive failures: 10" in text
    assert "Last error: HTTP 500" in text
    assert f"https://hooks.example.com/webhooks/{hook.id}/deliveries" in text
    assert "Consecutive failures: 5" in failing.get_content()
    assert db.session.get(Webhook, hook.id).active is False


def test_the_operational_webhook_receives_both_notices_signed(
        app, client, auth_headers, project, hook, receiver, dispatch, notify, ops_receiver):
    secret = set_notify_url(app, project, ops_receiver.url("/ops"))
    fail_deliveries(client, auth_headers, dispatch, receiver, THRESHOLD)
    notify()
    failing, deactivated = ops_receiver.wait_for(2)
    for request, event, failures in ((failing, "webhook.failing", 5),
                                     (deactivated, "webhook.deactivated", 10)):
        assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
        assert request.headers["X-Webhook-Event"] == event
        assert request.headers["X-Webhook-Delivery"].startswith("notice-")
        body = json.loads(request.body)
        assert list(body) == ["event", "timestamp", "webhookId", "goalId", "url",
                              "consecutiveFailures", "reason"]
        assert (body["event"], body["webhookId"], body["goalId"], body["url"],
                body["consecutiveFailures"]) == (event, hook.id, 774, receiver.url(), failures)


def test_a_mail_server_that_refuses_is_retried_on_the_delivery_schedule(
        app, client, auth_headers, hook, receiver, dispatch, notify, mail_server, clock):
    app.config["DELIVERY"] = replace(app.config["DELIVERY"], retry_delays=(10.0, 20.0))
    mail_server.refuse = True
    receiver.default = 500
    client.post("/api/v1/events", headers=auth_headers, json=task_event(id=1))
    db.session.get(Webhook, hook.id).consecutive_failures = 4
    db.session.commit()
    for wait in (0, 10, 20):  # the delivery's own three attempts fail; the 5th failure counts
        clock.advance(wait)
        dispatch()
    assert notify() == 1
    notice = db.session.scalars(select(Notice)).one()
    assert (notice.status, notice.attempts) == ("pending", 1)
    assert "451" in notice.error
    clock.advance(9)
    assert notify() == 0, "not before the retry delay"
    mail_server.refuse = False
    clock.advance(1)
    assert notify() == 1
    db.session.expire_all()
    assert (notice.status, notice.attempts, notice.error) == ("success", 2, None)
    assert [m["To"] for m in mail_server.wait_for(1)] == ["admin@example.com"]


def test_an_operational_webhook_that_fails_gives_up_and_turns_nothing_off(
        app, client, auth_headers, project, hook, receiver, dispatch, notify, ops_receiver,
        clock):
    set_notify_url(app, project, ops_receiver.url())
    ops_receiver.default = 503
    fail_deliveries(client, auth_headers, dispatch, receiver, 5)
    notify()
    notices = db.session.scalars(select(Notice).where(Notice.channel == "webhook")).all()
    assert [(n.status, n.error) for n in notices] == [("failed", "HTTP 503")], \
        "no retry delays are set in this module: one attempt, then failed"
    assert db.session.get(Webhook, hook.id).active is True


def test_an_unreachable_mail_server_leaves_delivery_alone(
        app, client, auth_headers, hook, receiver, dispatch, clock):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mailer = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{silent.getsockname()[1]}"),
                            timeout=0.3)
        app.config["WEBHOOKS_SMTP_URL"] = mailer.settings
        fail_deliveries(client, auth_headers, dispatch, receiver, 5)
        notifier = notifier_for(app, sessionmaker(bind=db.engine, expire_on_commit=False))
        notifier.mailer = mailer
        assert notifier.run_until_idle() == 1
    notice = db.session.scalars(select(Notice)).one()
    assert "did not answer within 0.3 s" in notice.error
    assert len(receiver.requests) == 5, "every delivery went out while mail was down"


def test_ten_failures_recorded_together_cross_each_line_once(
        app, client, auth_headers, hook, receiver, dispatch, notify, mail_server):
    """Crossings are decided under the webhook's row lock, from the counter it holds, however
    the failures are batched."""
    receiver.default = 500
    for n in range(THRESHOLD):
        client.post("/api/v1/events", headers=auth_headers, json=task_event(id=n))
    dispatch()
    assert notify() == 2
    kinds = sorted(n.kind for n in db.session.scalars(select(Notice)))
    assert kinds == ["webhook.deactivated", "webhook.failing"]


def test_with_mail_off_only_the_operational_webhook_is_told(
        app, client, auth_headers, project, hook, receiver, dispatch, notify, ops_receiver):
    app.config["DELIVERY"] = replace(app.config["DELIVERY"], mail_enabled=False)
    set_notify_url(app, project, ops_receiver.url())
    fail_deliveries(client, auth_headers, dispatch, receiver, 5)
    assert notify() == 1
    assert [n.channel for n in db.session.scalars(select(Notice))] == ["webhook"]


def test_a_user_who_opts_out_stops_getting_mail(app, client, auth_headers, hook, receiver,
                                               dispatch, notify, mail_server, admin):
    db.session.get(User, admin.id).notify_email = False
    db.session.commit()
    fail_deliveries(client, auth_headers, dispatch, receiver, THRESHOLD)
    assert notify() == 0
    assert mail_server.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_signs_in_when_the_url_has_a_user():
    server = MailServer(login=("robot", "p@ss word"))
    try:
        url = server.url(userinfo="robot:p%40ss%20word")
        mailer = SmtpMailer(parse_smtp_url(url))
        assert mailer.check().endswith("answered and accepted the sign-in")
        wrong = SmtpMailer(parse_smtp_url(server.url(userinfo="robot:nope")))
        with pytest.raises(Exception, match="refused: 535"):
            wrong.check()
    finally:
        server.close()


def _seed_team(database_url: str, hook_url: str, ops_url: str) -> str:
    """Schema, an admin and two members (one opted out), a webhook and the operational
    webhook; ten events due now. Returns the operational webhook's secret."""
    from webhooks import create_app
    from webhooks.clock import utcnow
    from webhooks.ingest import store_event
    from webhooks.models import Base, Project

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "process-test-key"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        now = utcnow()
        project = Project(id=774, name="TaskView", created_at=now, updated_at=now)
        db.session.add(project)
        create_user(db.session, "ops@example.com", "a-long-password", True, now)
        for email, opted_in in (("dev@example.com", True), ("quiet@example.com", False)):
            user = create_user(db.session, email, "a-long-password", False, now)
            user.notify_email = opted_in
            project.members.append(user)
        policy = HostPolicy.parse("loopback")
        manage.create_webhook(db.session, app.extensions["secret_box"], policy, project,
                              hook_url, ["task.created"], now)
        secret = manage.set_notify_url(project, app.extensions["secret_box"], policy, ops_url,
                                       now)
        db.session.commit()
        for n in range(THRESHOLD):
            store_event(db.session, 774, task_event(id=n), now)
        db.session.remove()
        db.engine.dispose()
    return secret


@pytest.mark.slow
def test_two_workers_send_each_notice_once(empty_database, receiver, ops_receiver,
                                           mail_server, tmp_path):
    from .processes import Process, flask_env

    receiver.default = 500
    secret = _seed_team(empty_database, receiver.url(), ops_receiver.url("/ops"))
    env = flask_env(empty_database, SCHEDULER_ENABLED="0", WEBHOOKS_RETRY_DELAYS="",
                    WEBHOOKS_SMTP_URL=mail_server.url(), WEBHOOKS_POLL_SECONDS="0.1")
    workers = [Process(env, tmp_path / f"worker{n}.log", "worker") for n in (1, 2)]
    try:
        mails = mail_server.wait_for(4, timeout=30)
        notices = ops_receiver.wait_for(2, timeout=30)
        receiver.wait_for(THRESHOLD, timeout=30)
        time.sleep(1.5)  # ample time for a duplicate to show up, at a 0.1 s poll
    finally:
        for worker in workers:
            worker.stop()
    assert sorted((m["To"], m["Subject"].split(":")[0]) for m in mail_server.messages) == [
        ("dev@example.com", "Webhook is failing"), ("dev@example.com", "Webhook was deactivated"),
        ("ops@example.com", "Webhook is failing"), ("ops@example.com", "Webhook was deactivated")]
    assert len(mails) == 4 and len(ops_receiver.requests) == 2
    assert sorted(r.headers["X-Webhook-Event"] for r in notices) == [
        "webhook.deactivated", "webhook.failing"]
    assert all(r.headers["X-Webhook-Signature"] == sign(r.body, secret) for r in notices)


@pytest.mark.parametrize("raw, parsed", [
    ("smtp://mail.internal:2525", ("mail.internal", 2525, "plain", None, None)),
    ("smtp+starttls://me%40x.com:s%3Acret@smtp.x.com", ("smtp.x.com", 587, "starttls",
                                                       "me@x.com", "s:cret")),
    ("smtps://u:p@smtp.x.com", ("smtp.x.com", 465, "tls", "u", "p")),
    ("smtp://127.0.0.1", ("127.0.0.1", 25, "plain", None, None)),
])
def test_smtp_urls_name_host_port_security_and_login(raw, parsed):
    s = parse_smtp_url(raw)
    assert (s.host, s.port, s.security, s.username, s.password) == parsed
    assert "cret" not in repr(s) and "cret" not in s.display()


@pytest.mark.parametrize("raw", ["mail.example.com", "http://mail.example.com",
                                 "smtp://", "smtp://host:notaport", "smtp://host/path",
                                 "smtp://host:99999"])
def test_a_malformed_smtp_url_is_refused_with_the_setting_named(raw):
    from webhooks.config import ConfigError, from_environment
    with pytest.raises(ConfigError, match="^WEBHOOKS_SMTP_URL "):
        from_environment({"WEBHOOKS_SMTP_URL": raw}, "/tmp")


@pytest.mark.slow
def test_a_malformed_smtp_url_stops_start_up(empty_database):
    import subprocess
    import sys

    from .processes import ROOT, flask_env
    result = subprocess.run([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                            env=flask_env(empty_database, WEBHOOKS_SMTP_URL="mail.example.com"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "WEBHOOKS_SMTP_URL must start with smtp://" in result.stderr


def test_doctor_checks_that_mail_goes_out(runner, app, stamp_head, mail_server):
    stamp_head()
    result = runner.invoke(args=["doctor"])
    assert f"WEBHOOKS_SMTP_URL = smtp://127.0.0.1:{mail_server.port}" in result.output
    assert f"ok    smtp://127.0.0.1:{mail_server.port} answered" in result.output
    assert result.exit_code == 0, result.output
    mail_server.close()
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FAIL  mail cannot go out: could not reach the mail server" in result.output


def test_the_api_sets_the_operational_webhook_and_returns_its_secret_once(
        app, client, auth_headers, project, ops_receiver):
    url = ops_receiver.url("/ops")
    answer = client.patch("/api/v1/projects/774", headers=auth_headers, json={"notifyUrl": url})
    assert answer.status_code == 200, answer.json
    assert answer.json["notifyUrl"] == url and answer.json["notifySecret"].startswith("whsec_")
    again = client.patch("/api/v1/projects/774", headers=auth_headers, json={"notifyUrl": url})
    assert "notifySecret" not in again.json, "an unchanged URL keeps its secret"
    assert "notifySecret" not in client.get("/api/v1/projects/774", headers=auth_headers).json
    changed = client.patch("/api/v1/projects/774", headers=auth_headers,
                           json={"notifyUrl": url + "2"})
    assert changed.json["notifySecret"] != answer.json["notifySecret"]
    cleared = client.patch("/api/v1/projects/774", headers=auth_headers, json={"notifyUrl": None})
    assert cleared.json["notifyUrl"] is None and "notifySecret" not in cleared.json


@pytest.mark.parametrize("value, message", [
    ("ftp://example.com/x", "http"), (42, "notifyUrl must be a URL or null"),
    ("http://10.0.0.1/ops", "WEBHOOKS_ALLOWED_HOSTS")])
def test_a_bad_operational_webhook_url_is_a_422_on_its_field(app, client, auth_headers, project,
                                                           value, message):
    answer = client.patch("/api/v1/projects/774", headers=auth_headers, json={"notifyUrl": value})
    assert answer.status_code == 422
    assert answer.json["error"]["field"] == "notifyUrl"
    assert message in answer.json["error"]["message"]
    assert client.get("/api/v1/projects/774", headers=auth_headers).json["notifyUrl"] is None


def test_secrets_rotate_re_encrypts_the_operational_webhooks_secret(app, project, runner):
    from webhooks.crypto import SecretBox
    old = SecretBox("old key")
    secret = manage.set_notify_url(project, old, HostPolicy.parse("loopback"),
                                   "http://127.0.0.1:9/ops", project.created_at)
    db.session.commit()
    app.extensions["secret_box"] = SecretBox("test-secret-key", ["old key"])
    result = runner.invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    stored = db.session.get(type(project), 774).notify_secret_encrypted
    assert SecretBox("test-secret-key").decrypt(stored) == secret


def test_the_account_page_turns_mail_off_and_on(app, client, admin, ui_login, mail_server):
    csrf = ui_login()
    page = client.get("/account").get_data(as_text=True)
    assert 'name="notify_email" value="1" checked' in page
    refused = client.post("/account/notifications", data={"csrf_token": csrf})
    assert refused.status_code == 422 and db.session.get(User, admin.id).notify_email is True
    client.post("/account/notifications", data={"csrf_token": csrf, "notify_email": "0"})
    db.session.expire_all()
    assert db.session.get(User, admin.id).notify_email is False
    page = client.get("/account").get_data(as_text=True)
    assert "no more emails about failing webhooks" in page
    assert 'name="notify_email" value="1" >' in page
    client.post("/account/notifications",
                data={"csrf_token": csrf, "notify_email": ["0", "1"]})
    db.session.expire_all()
    assert db.session.get(User, admin.id).notify_email is True


def test_the_notifications_page_sets_the_url_shows_the_secret_once_and_lists_notices(
        app, client, admin, project, ui_login, ops_receiver, hook, auth_headers, receiver,
        dispatch):
    csrf = ui_login()
    answer = client.post("/projects/774/notifications/url",
                         data={"csrf_token": csrf, "notify_url": "gopher://x"})
    assert answer.status_code == 422
    assert 'id="notify_url-error"' in answer.get_data(as_text=True)
    answer = client.post("/projects/774/notifications/url",
                         data={"csrf_token": csrf, "notify_url": ops_receiver.url()})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "it will not be shown again" in page
    secret = re.search(r'<code id="notify-secret">([^<]+)</code>', page).group(1)
    assert secret not in client.get("/projects/774/notifications").get_data(as_text=True)
    fail_deliveries(client, auth_headers, dispatch, receiver, 5)
    page = client.get("/projects/774/notifications").get_data(as_text=True)
    assert "webhook.failing" in page and f"POST <code>{ops_receiver.url()}</code>" in page
    assert "email to <code>admin@example.com</code>" in page


def test_members_see_the_page_but_only_admins_change_the_url(app, client, project, team,
                                                            ui_login):
    csrf = ui_login("dev@example.com")
    page = client.get("/projects/774/notifications").get_data(as_text=True)
    assert "Operational webhook URL" not in page and "Send me a test email" not in page
    answer = client.post("/projects/774/notifications/url",
                         data={"csrf_token": csrf, "notify_url": "http://127.0.0.1:9/"})
    assert answer.status_code == 404
    assert client.get("/projects/1/notifications").status_code == 404


def test_the_mail_test_button_sends_to_the_admin_and_says_so(app, client, admin, project,
                                                             ui_login, mail_server):
    csrf = ui_login()
    answer = client.post("/admin/mail-test", data={"csrf_token": csrf, "project_id": "774"},
                         headers={"HX-Request": "true"})
    assert "Sent a test email to admin@example.com." in answer.get_data(as_text=True)
    (message,) = mail_server.wait_for(1)
    assert message["To"] == "admin@example.com"
    mail_server.close()
    answer = client.post("/admin/mail-test", data={"csrf_token": csrf, "project_id": "774"},
                         headers={"HX-Request": "true"})
    assert "The test email was not sent: could not reach the mail server" in \
        answer.get_data(as_text=True)
