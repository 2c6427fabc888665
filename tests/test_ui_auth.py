"""Server side of sign-in, first run, CSRF and security headers."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from webhooks.extensions import db
from webhooks.models import Project, User

from .conftest import CSRF_RE


def test_without_users_every_page_leads_to_setup(client, app):
    assert client.get("/login").headers["Location"].endswith("/setup")
    page = client.get("/setup")
    assert page.status_code == 200 and b"Create administrator" in page.data


def test_setup_creates_an_admin_and_is_then_closed(client, app):
    token = CSRF_RE.search(client.get("/setup").get_data(as_text=True)).group(1)
    response = client.post("/setup", data={"email": "first@example.com", "password": "long enough",
                                           "confirm": "long enough", "csrf_token": token})
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert (user.email, user.is_admin) == ("first@example.com", True)
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_setup_errors_are_inline_and_store_nothing(client, app):
    token = CSRF_RE.search(client.get("/setup").get_data(as_text=True)).group(1)
    response = client.post("/setup", data={"email": "not-an-email", "password": "long enough",
                                           "confirm": "long enough", "csrf_token": token})
    assert response.status_code == 422
    assert b'id="email-error"' in response.data and b"valid email" in response.data
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_wrong_password_is_an_inline_error_not_a_crash(client, admin):
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"email": "admin@example.com", "password": "nope",
                                           "csrf_token": token})
    assert response.status_code == 422
    assert b'id="password-error"' in response.data


def test_form_post_without_csrf_token_is_refused(client, admin):
    response = client.post("/login", data={"email": "admin@example.com",
                                           "password": "correct horse"})
    assert response.status_code == 400
    assert b"The CSRF token is missing." in response.data


def test_htmx_post_without_csrf_header_is_refused(ui, project):
    client, headers = ui
    response = client.post("/projects", data={"id": "5", "name": "x"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert db.session.get(Project, 5) is None


def test_pages_need_a_session(client, admin, project):
    for path in ("/", "/projects/774/webhooks", "/tokens", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


# `next` as it arrives in the query string (percent-encoded where a client would encode it).
HOSTILE_NEXT = [
    "//evil.example/x", "///evil.example", "////evil.example",
    "%2F%2Fevil.example", "%2F%09%2Fevil.example", "%2F%0A%2Fevil.example",
    "%2F%0D%0A%2Fevil.example", "%09//evil.example",
    "%2F%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "%2F%5C%09evil.example",
    "https://evil.example", "https:evil.example", "HTTPS://evil.example", "//evil.example@x",
    "javascript:alert(1)", "JaVaScRiPt%3Aalert(1)", "data:text/html,x", "evil.example",
    "%20//evil.example", "%00//evil.example", "/%00", "/%7F",
    "", "%2F%2F%2F", ".//evil.example", "%2F%20%2Fevil.example",
]
SAFE_NEXT = [
    ("%2Fprojects%2F774%2Fwebhooks", "/projects/774/webhooks"),
    ("/tokens?page=2%23x", "/tokens?page=2#x"),
    ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),  # paths of this site: encoded
    ("/%2509/evil.example", "/%09/evil.example"),          # slashes, tab and space stay
    ("%2F%E3%80%80%2Fevil.example", "/%E3%80%80/evil.example"),  # in the path
    ("/a/..//b", "/a/..//b"),
]


def _login(client, query: str):
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post(f"/login?next={query}", data={
        "email": "admin@example.com", "password": "correct horse", "csrf_token": token})


@pytest.mark.parametrize("query", HOSTILE_NEXT)
def test_a_hostile_next_sends_the_user_home_never_elsewhere_nor_a_500(client, admin, query):
    response = _login(client, query)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("query, location", SAFE_NEXT)
def test_a_path_of_this_site_in_next_is_followed(client, admin, query, location):
    response = _login(client, query)
    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_security_headers_and_no_inline_script(ui, project):
    client, _ = ui
    response = client.get("/projects/774/webhooks")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    assert "hx-on" not in html


def test_admin_creates_a_project_from_the_form(ui):
    client, headers = ui
    response = client.post("/projects", data={"id": "42", "name": "Site"}, headers=headers)
    assert response.status_code == 302
    assert db.session.get(Project, 42).name == "Site"
    bad = client.post("/projects", data={"id": "x", "name": "Site"}, headers=headers)
    assert bad.status_code == 422 and b'id="id-error"' in bad.data


def test_sign_out_ends_the_session(ui, project):
    client, headers = ui
    assert client.post("/logout", headers=headers).status_code == 302
    assert client.get("/projects/774/webhooks").status_code == 302


def test_repeated_failed_sign_ins_are_refused_for_a_while(client, admin):
    def attempt(password):
        token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        return client.post("/login", data={"email": "admin@example.com", "password": password,
                                           "csrf_token": token})

    for _ in range(5):
        assert attempt("wrong").status_code == 422
    refused = attempt("correct horse")
    assert refused.status_code == 429, "even the right password waits out the lock"
    assert b"too many failed sign-ins" in refused.data
    assert int(refused.headers["Retry-After"]) > 0


def test_a_successful_sign_in_clears_the_failures(client, admin):
    def attempt(password):
        g.pop("csrf_token", None)  # sessions change below; requests share the test's `g`
        token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
        return client.post("/login", data={"email": "admin@example.com", "password": password,
                                           "csrf_token": token})

    for _ in range(4):
        attempt("wrong")
    assert attempt("correct horse").status_code == 302
    client.delete_cookie("session")
    for _ in range(4):
        assert attempt("wrong").status_code == 422


def test_the_limiter_forgets_failures_after_the_window():
    from webhooks.ratelimit import FailureLimiter
    now = [0.0]
    limiter = FailureLimiter(2, 60, clock=lambda: now[0])
    limiter.failed("k")
    limiter.failed("k")
    assert limiter.retry_after("k") == 60
    now[0] = 30
    assert limiter.retry_after("k") == 30
    now[0] = 60.5
    assert limiter.retry_after("k") is None
