"""Sessions the server can end, and passwords (SPEC §6): sign-out, password changes, removed
users and the session lifetime really take effect, for every copy of a cookie."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webhooks import login_sessions
from webhooks.auth import check_login, create_user
from webhooks.extensions import db
from webhooks.models import LoginSession, User, Webhook

from .conftest import CSRF_RE
from .helpers import Browser

PASSWORD = "correct horse"


def _signed_in(app, email: str = "admin@example.com", password: str = PASSWORD):
    """A new browser signed in through the form, and its CSRF token."""
    browser = Browser(app)
    token = CSRF_RE.search(browser.get("/login").get_data(as_text=True)).group(1)
    response = browser.post("/login", data={"email": email, "password": password,
                                             "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser, CSRF_RE.search(browser.get("/account").get_data(as_text=True)).group(1)


def _copy(app, browser):
    """Another browser holding a copy of `browser`'s session cookie."""
    other = Browser(app)
    other.client.set_cookie("session", browser.client.get_cookie("session").value)
    return other


def _opens(client) -> bool:
    response = client.get("/tokens")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def _password_works(email: str, password: str) -> bool:
    db.session.rollback()
    return check_login(db.session, email, password) is not None


def _sessions_of(email: str) -> int:
    db.session.rollback()  # read what the requests committed, not an older snapshot
    user = db.session.scalar(select(User).where(User.email == email))
    return db.session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == user.id))


@pytest.fixture
def member(app, clock):
    user = create_user(db.session, "member@example.com", PASSWORD, False, clock())
    db.session.commit()
    return user


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, admin, project, clock):
    webhook = Webhook(project_id=774, url="http://127.0.0.1:9/h", events="task.created",
                      secret_encrypted="x", active=True, consecutive_failures=0,
                      created_at=clock(), updated_at=clock())
    db.session.add(webhook)
    db.session.commit()
    client, csrf = _signed_in(app)
    stolen = _copy(app, client)
    assert _opens(stolen)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert not _opens(client) and not _opens(stolen)
    response = stolen.post(f"/webhooks/{webhook.id}/active",
                           data={"active": "off"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.rollback()
    assert db.session.get(Webhook, webhook.id).active is True
    assert _sessions_of("admin@example.com") == 0


def test_signing_out_ends_only_that_session(app, admin):
    laptop, csrf = _signed_in(app)
    phone, _ = _signed_in(app)
    laptop.post("/logout", data={"csrf_token": csrf})
    assert not _opens(laptop) and _opens(phone)


def test_sign_out_everywhere_ends_every_session_of_that_user_only(app, admin, member):
    laptop, csrf = _signed_in(app)
    phone, _ = _signed_in(app)
    colleague, _ = _signed_in(app, "member@example.com")
    response = laptop.post("/account/sign-out-everywhere", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "You were signed out everywhere." in laptop.get("/login").get_data(as_text=True)
    assert not _opens(laptop) and not _opens(phone) and _opens(colleague)


def test_changing_your_password_ends_your_other_sessions_and_keeps_this_browser(app, admin):
    laptop, csrf = _signed_in(app)
    phone, _ = _signed_in(app)
    stolen = _copy(app, laptop)
    response = laptop.post("/account/password", data={
        "csrf_token": csrf, "current_password": PASSWORD, "password": "a new password",
        "confirm": "a new password"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    page = laptop.get("/account").get_data(as_text=True)
    assert "Your password was changed; 1 other session was signed out." in page
    assert _opens(laptop) and not _opens(phone) and not _opens(stolen)
    assert not _password_works("admin@example.com", PASSWORD)
    assert _password_works("admin@example.com", "a new password")
    assert _sessions_of("admin@example.com") == 1


@pytest.mark.parametrize("form, field, message", [
    ({"current_password": "wrong one", "password": "a new password",
      "confirm": "a new password"}, "current_password", "not your current password"),
    ({"current_password": "", "password": "a new password",
      "confirm": "a new password"}, "current_password", "not your current password"),
    ({"current_password": PASSWORD, "password": "a new password",
      "confirm": "another one"}, "confirm", "the two passwords differ"),
    ({"current_password": PASSWORD, "password": "short", "confirm": "short"}, "password",
     "at least 8 characters"),
    ({}, "current_password", "not your current password"),
])
def test_password_change_errors_are_inline_and_change_nothing(app, admin, form, field, message):
    client, csrf = _signed_in(app)
    phone, _ = _signed_in(app)
    before = db.session.scalar(select(User.password_hash))
    response = client.post("/account/password", data={"csrf_token": csrf, **form})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert f'aria-describedby="{field}-error"' in page
    db.session.rollback()
    assert db.session.scalar(select(User.password_hash)) == before
    assert _opens(client) and _opens(phone)


def test_an_admin_sets_a_password_and_the_user_is_signed_out_everywhere(app, admin, member):
    client, csrf = _signed_in(app)
    theirs, _ = _signed_in(app, "member@example.com")
    response = client.post(f"/admin/users/{member.id}/password", data={
        "password": "given by the admin"}, headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.strip().startswith(f'<tr id="user-{member.id}"')
    assert "New password set for member@example.com; 1 session signed out." in row
    assert not _opens(theirs) and _opens(client)
    assert _password_works("member@example.com", "given by the admin")


@pytest.mark.parametrize("password, message", [
    ("short", "at least 8 characters"), ("", "at least 8 characters")])
def test_an_admin_password_error_is_shown_next_to_the_field(app, admin, member, password,
                                                             message):
    client, csrf = _signed_in(app)
    theirs, _ = _signed_in(app, "member@example.com")
    response = client.post(f"/admin/users/{member.id}/password", data={"password": password},
                           headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert response.status_code == 422
    row = response.get_data(as_text=True)
    assert f'id="password-{member.id}-error"' in row and message in row
    assert "<details class=\"set-password\" open>" in row
    assert _opens(theirs)


def test_without_javascript_an_admin_sets_a_password_and_sees_the_notice(app, admin, member):
    client, csrf = _signed_in(app)
    response = client.post(f"/admin/users/{member.id}/password",
                           data={"password": "given by the admin", "csrf_token": csrf})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "New password set for member@example.com" in page


def test_an_admin_changes_their_own_password_on_the_account_page_only(app, admin):
    client, csrf = _signed_in(app)
    response = client.post(f"/admin/users/{admin.id}/password", data={"password": "new one!!"},
                           headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert response.status_code == 422
    assert "account page" in response.get_data(as_text=True)
    assert _password_works("admin@example.com", PASSWORD)


def test_removing_a_user_ends_their_sessions(app, admin, member):
    client, csrf = _signed_in(app)
    theirs, _ = _signed_in(app, "member@example.com")
    response = client.post(f"/admin/users/{member.id}/delete",
                           headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert response.status_code == 200
    assert not _opens(theirs)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 1


@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_SESSION_HOURS": 2}


def test_a_session_lasts_the_configured_hours_at_most(app, admin, clock):
    client, _ = _signed_in(app)
    cookie = client.client.get_cookie("session")
    assert cookie.expires is not None  # the cookie ends with the session, not the browser
    clock.advance(2 * 3600 - 1)
    assert _opens(client)  # using it does not extend it
    clock.advance(1)
    assert not _opens(client)
    assert login_sessions.prune(db.session, clock()) == 1


def test_the_account_page_counts_sessions_and_states_the_lifetime(app, admin):
    client, _ = _signed_in(app)
    _signed_in(app)
    page = client.get("/account").get_data(as_text=True)
    assert "You are signed in in 2 places" in page and "2 hours at most" in page


def test_cli_set_password_ends_every_session(app, admin, runner):
    client, _ = _signed_in(app)
    result = runner.invoke(args=["users", "set-password", "admin@example.com",
                                 "--password-stdin"], input="from the command line\n")
    assert result.exit_code == 0, result.output
    assert "new password set for admin@example.com; 1 session signed out" in result.output
    assert not _opens(client)
    assert _password_works("admin@example.com", "from the command line")


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "set-password", "admin@example.com", "--password-stdin"], "short\n",
     "at least 8 characters"),
    (["users", "set-password", "nobody@example.com", "--password-stdin"], "long enough\n",
     "no user with email nobody@example.com"),
])
def test_cli_set_password_refusals_change_nothing(app, admin, runner, args, stdin, message):
    client, _ = _signed_in(app)
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code == 1 and message in result.output
    assert _opens(client)


def test_cli_set_password_prompts_twice_without_stdin(app, admin, runner):
    result = runner.invoke(args=["users", "set-password", "admin@example.com"],
                           input="prompted password\nprompted password\n")
    assert result.exit_code == 0, result.output
    assert _password_works("admin@example.com", "prompted password")
