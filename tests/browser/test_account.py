"""Sessions the server can end, passwords and the sign-in redirect, in a real browser (SPEC §6).

Each browser context has its own cookie jar, so several contexts are several devices: what one
does (sign out, change a password) must reach the others through the server-side sessions.
"""
from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlalchemy import func, select

from webhooks import manage
from webhooks.auth import check_login, create_user
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.models import LoginSession, Project, User, Webhook

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, idle, sign_in

MEMBER_EMAIL, MEMBER_PASSWORD = "member@example.com", "member password"
HOME = "/projects/774/webhooks"  # where "/" takes the administrator of project 774


@pytest.fixture
def new_page(browser):
    """Makes pages in browser contexts of their own (other devices); closes them afterwards."""
    contexts = []

    def make(cookies=()):
        context = browser.new_context()
        contexts.append(context)
        if cookies:
            context.add_cookies(list(cookies))
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def signed_in_page(new_page, server, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    """A page of a new context, signed in through the form."""
    page = new_page()
    sign_in(page, server, email, password)
    return page


def expect_signed_in(page, server) -> None:
    page.goto(server.url + "/tokens")
    expect(page).to_have_url(server.url + "/tokens")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()


def expect_signed_out(page, server) -> None:
    page.goto(server.url + "/tokens")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def submit_sign_in(page, url: str, email: str, password: str) -> None:
    """Open the sign-in form at `url` and send it, without waiting for where it leads."""
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def password_works(server, email: str, password: str) -> bool:
    return server.query(lambda: check_login(db.session, email, password) is not None)


def sessions_of(server, email: str) -> int:
    """How many sign-in sessions of this user the server holds."""
    return server.query(lambda: db.session.scalar(
        select(func.count()).select_from(LoginSession).join(User)
        .where(User.email == email)))


def add_member(server) -> int:
    """A member without projects; returns their id."""
    def add():
        user = create_user(db.session, MEMBER_EMAIL, MEMBER_PASSWORD, False, utcnow())
        db.session.commit()
        return user.id
    return server.query(add)


def add_webhook(server) -> int:
    """An active webhook of project 774; returns its id."""
    def add():
        webhook, _ = manage.create_webhook(
            db.session, server.app.extensions["secret_box"], HostPolicy.parse("loopback"),
            db.session.get(Project, 774), "http://127.0.0.1:9/hook", ["task.created"], utcnow())
        db.session.commit()
        return webhook.id
    return server.query(add)


def is_active(server, webhook_id: int) -> bool:
    return server.query(lambda: db.session.get(Webhook, webhook_id).active)


def test_a_copied_session_cookie_opens_nothing_after_sign_out(admin_page, seeded, new_page):
    page = admin_page
    webhook_id = add_webhook(seeded)
    toggle = f"{seeded.url}/webhooks/{webhook_id}/active"
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    copy = new_page(page.context.cookies())
    expect_signed_in(copy, seeded)
    # While the session lives, the copied cookie and the page's token change data...
    response = copy.context.request.post(toggle, form={"active": "off"},
                                         headers={"X-CSRFToken": token})
    assert response.ok and urlsplit(response.url).path == f"/webhooks/{webhook_id}/active"
    assert is_active(seeded, webhook_id) is False

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect_signed_out(copy, seeded)
    # ... and once it has ended, they are sent to sign in and change nothing.
    response = copy.context.request.post(toggle, form={"active": "on"},
                                         headers={"X-CSRFToken": token})
    assert urlsplit(response.url).path == "/login"
    assert is_active(seeded, webhook_id) is False
    assert sessions_of(seeded, ADMIN_EMAIL) == 0


# A refused change of your own password: (current, new, again, field shown wrong, message).
REFUSED_CHANGES = {
    "wrong current": ("not my password", "a new password", "a new password",
                      "current_password", "this is not your current password"),
    "no current": ("", "a new password", "a new password",
                   "current_password", "this is not your current password"),
    "typed differently": (ADMIN_PASSWORD, "a new password", "a new passw0rd",
                          "confirm", "the two passwords differ"),
    "too short": (ADMIN_PASSWORD, "seven c", "seven c",
                  "password", "the password must have at least 8 characters"),
}


@pytest.mark.parametrize("current, new, again, field, message", REFUSED_CHANGES.values(),
                         ids=REFUSED_CHANGES.keys())
def test_a_refused_password_change_says_why_beside_the_field_and_keeps_the_old_password(
        admin_page, seeded, current, new, again, field, message):
    page = admin_page
    page.get_by_role("link", name=ADMIN_EMAIL).click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password again").fill(again)
    with page.expect_response(lambda r: r.url.endswith("/account/password")) as answer:
        page.get_by_role("button", name="Change password").click()
    assert answer.value.status == 422
    expect(page.locator(f"#{field}-error")).to_have_text(message)
    expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field-error")).to_have_count(1)
    assert password_works(seeded, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert not password_works(seeded, ADMIN_EMAIL, new)
    expect_signed_in(page, seeded)


def test_changing_the_password_signs_out_every_other_session_but_this_one(
        admin_page, seeded, new_page):
    page, other = admin_page, signed_in_page(new_page, seeded)
    page.goto(seeded.url + "/account")
    expect(page.get_by_text("You are signed in in 2 places")).to_be_visible()
    page.get_by_label("Current password").fill(ADMIN_PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("New password again").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(seeded.url + "/account")
    expect(page.locator(".notice")).to_have_text(
        "Your password was changed; 1 other session was signed out.")
    expect(page.get_by_text("You are signed in in 1 place")).to_be_visible()

    expect_signed_out(other, seeded)
    expect_signed_in(page, seeded)
    fresh = signed_in_page(new_page, seeded, ADMIN_EMAIL, "a brand new password")
    expect_signed_in(fresh, seeded)
    stale = new_page()
    submit_sign_in(stale, seeded.url + "/login", ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(stale.locator("#password-error")).to_have_text("wrong email or password")


def test_sign_out_everywhere_ends_this_and_every_other_session(admin_page, seeded, new_page):
    page, other = admin_page, signed_in_page(new_page, seeded)
    assert sessions_of(seeded, ADMIN_EMAIL) == 2
    page.get_by_role("link", name=ADMIN_EMAIL).click()
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page).to_have_url(seeded.url + "/login")
    expect(page.locator(".notice")).to_have_text("You were signed out everywhere.")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    expect_signed_out(other, seeded)
    expect_signed_out(page, seeded)
    assert sessions_of(seeded, ADMIN_EMAIL) == 0


def test_an_admin_sets_a_members_password_which_signs_them_out(admin_page, seeded, new_page):
    member_id = add_member(seeded)
    member = signed_in_page(new_page, seeded, MEMBER_EMAIL, MEMBER_PASSWORD)
    page = admin_page
    page.goto(seeded.url + "/admin/users")
    row = page.locator(f"#user-{member_id}")
    row.locator("summary", has_text="Set password").click()
    field = row.get_by_label(f"New password for {MEMBER_EMAIL}")
    field.fill("short")
    row.get_by_role("button", name="Set password", exact=True).click()
    expect(row.locator(f"#password-{member_id}-error")).to_have_text(
        "the password must have at least 8 characters")
    expect(field).to_have_attribute("aria-invalid", "true")
    idle(page)
    assert password_works(seeded, MEMBER_EMAIL, MEMBER_PASSWORD)
    expect_signed_in(member, seeded)

    field.fill("set by the admin")
    row.get_by_role("button", name="Set password", exact=True).click()
    expect(row.get_by_role("status")).to_have_text(
        f"New password set for {MEMBER_EMAIL}; 1 session signed out.")
    expect(row.locator(f"#password-{member_id}-error")).to_have_count(0)
    expect_signed_out(member, seeded)
    assert not password_works(seeded, MEMBER_EMAIL, MEMBER_PASSWORD)
    sign_in(member, seeded, MEMBER_EMAIL, "set by the admin")
    expect_signed_in(member, seeded)


# `next` values as someone might craft them; the browser gets them percent-encoded...
HOSTILE_NEXT = [
    "//evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "https://evil.example",
    "HTTPS://evil.example", "javascript:alert(1)", "http:evil.example", " //evil.example",
    "\t//evil.example", "///evil.example", "//evil.example@127.0.0.1",
]
# ... or literally in the URL, decoded by the server: (query value, path it must land on).
NEXT_CASES = [
    *[(quote(value, safe=""), HOME) for value in HOSTILE_NEXT],
    ("/%09/evil.example", HOME), ("/\\evil.example", HOME), ("//evil.example", HOME),
    ("/%2F%2Fevil.example", HOME),
    (quote("/%2F%2Fevil.example", safe=""), "/%2F%2Fevil.example"),  # a path of this site
    ("/tokens", "/tokens"), (quote("/tokens", safe=""), "/tokens"),
]


def test_after_sign_in_next_leads_only_to_a_path_of_this_site(seeded, new_page):
    """Each case in a fresh context, on one server: the browser itself reads the Location
    header, and must stay on this host."""
    here, failures = urlsplit(seeded.url).netloc, []
    for query, lands_on in NEXT_CASES:
        page = new_page()
        page.context.route(lambda url: urlsplit(url).hostname == "evil.example",
                           lambda route: route.fulfill(body="evil"))
        submit_sign_in(page, f"{seeded.url}/login?next={query}", ADMIN_EMAIL, ADMIN_PASSWORD)
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
        except PlaywrightTimeout:  # sent off the site, or to a Location a browser won't load
            failures.append(f"next={query!r} led to no page of this site ({page.url})")
            continue
        landed = urlsplit(page.url)
        if (landed.scheme, landed.netloc, landed.path) != ("http", here, lands_on):
            failures.append(f"next={query!r} landed on {page.url}, expected {lands_on}")
        page.context.close()
    assert not failures, "\n".join(failures)
