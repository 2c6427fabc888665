"""WEBHOOKS_TRUSTED_PROXIES (SPEC §8): behind N reverse proxies the client's address and scheme
come from their X-Forwarded-* headers; with 0 (the default) such headers, forged by anyone,
change nothing."""
from __future__ import annotations

import logging

import pytest
from flask import g

from webhooks import create_app
from webhooks.extensions import db
from webhooks.models import Base

from .conftest import CSRF_RE

ADDRESS_LIMIT = 20


@pytest.fixture
def proxied(database_url, request):
    """An app trusting `request.param` proxies, with an admin."""
    from webhooks.auth import create_user
    from webhooks.clock import utcnow

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url,
                      "WEBHOOKS_TRUSTED_PROXIES": request.param})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        create_user(db.session, "admin@example.com", "correct horse", True, utcnow())
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _fail_sign_in(client, email: str, forwarded_for: str):
    g.pop("csrf_token", None)
    # Over HTTPS, CSRF protection also wants the referrer to be this site, as browsers send it
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https",
               "Referer": "https://localhost/login"}
    page = client.get("/login", headers=headers).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post("/login", headers=headers, data={
        "email": email, "password": "wrong", "csrf_token": token})


@pytest.mark.parametrize("proxied", [1], indirect=True)
def test_one_trusted_proxy_limits_each_client_on_its_own(proxied, caplog):
    client = proxied.test_client()
    with caplog.at_level(logging.WARNING, logger=proxied.logger.name):
        for n in range(ADDRESS_LIMIT + 5):
            # A different client each time, each under the per-email limit
            answer = _fail_sign_in(client, f"user{n}@example.com", f"203.0.113.{n}")
            assert answer.status_code == 422, n
    assert "failed sign-in for user3@example.com from 203.0.113.3" in caplog.text


@pytest.mark.parametrize("proxied", [0], indirect=True)
def test_with_no_trusted_proxy_a_forged_header_does_not_escape_the_limiter(proxied, caplog):
    client = proxied.test_client()
    codes = []
    with caplog.at_level(logging.WARNING, logger=proxied.logger.name):
        for n in range(ADDRESS_LIMIT + 1):
            codes.append(_fail_sign_in(client, f"user{n}@example.com",
                                       f"203.0.113.{n}").status_code)
    assert codes[:ADDRESS_LIMIT] == [422] * ADDRESS_LIMIT
    assert codes[ADDRESS_LIMIT] == 429, "every attempt came from the one real address"
    assert "203.0.113." not in caplog.text and "from 127.0.0.1" in caplog.text


@pytest.mark.parametrize("proxied, secure", [(1, True), (0, False)], indirect=["proxied"])
def test_the_session_cookie_is_secure_when_the_client_used_https(proxied, secure):
    client = proxied.test_client()
    answer = client.get("/login", headers={"X-Forwarded-Proto": "https",
                                           "X-Forwarded-For": "203.0.113.9"})
    cookie = answer.headers["Set-Cookie"]
    assert ("; Secure" in cookie) is secure, cookie


@pytest.mark.parametrize("proxied", [2], indirect=True)
def test_two_proxies_take_the_address_the_outer_one_saw(proxied, caplog):
    client = proxied.test_client()
    with caplog.at_level(logging.WARNING, logger=proxied.logger.name):
        _fail_sign_in(client, "a@example.com", "198.51.100.7, 203.0.113.1, 10.0.0.2")
    assert "from 203.0.113.1" in caplog.text, "the client's own (forgeable) first entry is skipped"
