"""Server side of the API tokens page and the administrators' users and members page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from webhooks import auth
from webhooks.crypto import hash_token
from webhooks.exceptions import Invalid
from webhooks.extensions import db
from webhooks.models import ApiToken, Project, User, memberships

NEW_TOKEN_RE = re.compile(r'<code id="new-token">(whk_[^<]+)</code>')
MEMBER = ("member@example.com", "member password")


def _member(clock, email=MEMBER[0], projects=(), is_admin=False) -> User:
    user = auth.create_user(db.session, email, MEMBER[1], is_admin, clock())
    for project_id in projects:
        db.session.execute(insert(memberships).values(user_id=user.id, project_id=project_id))
    db.session.commit()
    return user


def _create_token(client, headers, **fields):
    data = {"name": "CI", "scopes": ["events:write", "webhooks:read"], "access": "all",
            "expires_in": "", **fields}
    return client.post("/tokens", data=data, headers=headers)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _api(client, plaintext):
    return client.get("/api/v1/projects", headers={"Authorization": f"Bearer {plaintext}"})


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- API tokens -----------------------------------------------------------------------------

def test_created_token_is_shown_once_works_on_the_api_and_is_stored_hashed(ui, project):
    client, headers = ui
    response = _create_token(client, headers, name="TaskView production")
    assert response.status_code == 200
    html = _html(response)
    plaintext = NEW_TOKEN_RE.search(html).group(1)
    assert "it will not be shown again" in html
    assert 'data-copy-target="#new-token"' in html
    # The list is refreshed out of band with the new row in it.
    assert '<tbody id="token-rows" hx-swap-oob="true">' in html
    assert "TaskView production" in html.split("token-rows", 1)[1]

    assert _api(client, plaintext).status_code == 200

    page = _html(client.get("/tokens"))
    assert "TaskView production" in page and plaintext not in page
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == hash_token(plaintext)
    assert plaintext not in (stored.token_hash, stored.prefix, stored.name)


@pytest.mark.parametrize("fields, field", [
    ({"name": "  "}, "name"),
    ({"scopes": []}, "scopes"),
    ({"access": "some", "projects": []}, "projects"),
    ({"expires_in": "2d"}, "expires_in"),
])
def test_token_form_errors_are_inline_and_store_nothing(ui, project, fields, field):
    client, headers = ui
    response = _create_token(client, headers, **fields)
    assert response.status_code == 422
    html = _html(response)
    assert f'id="{field}-error"' in html
    assert 'id="token-create"' in html and "<html" not in html  # the form fragment only
    assert _count(ApiToken) == 0


def test_form_keeps_what_was_entered_after_an_error(ui, project):
    client, headers = ui
    html = _html(_create_token(client, headers, name="Keep me", scopes=["webhooks:write"],
                               access="some", projects=[], expires_in="90d"))
    assert 'value="Keep me"' in html
    assert re.search(r'value="webhooks:write"\s+checked', html)
    assert re.search(r'value="some"\s+checked', html)
    assert re.search(r'value="90d" selected', html)


def test_member_cannot_create_a_projects_write_token(client, admin, project, clock, ui_login):
    _member(clock, projects=[774])
    csrf = ui_login(*MEMBER)
    page = _html(client.get("/tokens"))
    assert re.search(r'value="projects:write"\s+disabled', page)
    response = _create_token(client, {"X-CSRFToken": csrf, "HX-Request": "true"},
                             scopes=["projects:write", "webhooks:read"])
    assert response.status_code == 422
    assert 'id="scopes-error"' in _html(response) and "administrators" in _html(response)
    assert _count(ApiToken) == 0


def test_some_projects_lists_only_visible_projects_and_limits_the_token(
        client, admin, project, clock, ui_login):
    db.session.add(Project(id=775, name="Hidden", created_at=clock(), updated_at=clock()))
    db.session.commit()
    _member(clock, projects=[774])
    csrf = ui_login(*MEMBER)
    headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
    page = _html(client.get("/tokens"))
    assert 'name="projects" value="774"' in page and "Hidden" not in page

    refused = _create_token(client, headers, access="some", projects=["775"])
    assert refused.status_code == 422 and 'id="projects-error"' in _html(refused)
    created = _create_token(client, headers, access="some", projects=["774"])
    assert created.status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert (token.all_projects, [p.id for p in token.projects]) == (False, [774])


def test_expiry_sets_expires_at_and_the_token_then_expires(ui, project, clock):
    client, headers = ui
    response = _create_token(client, headers, expires_in="30d")
    plaintext = NEW_TOKEN_RE.search(_html(response)).group(1)
    token = db.session.scalar(select(ApiToken))
    assert token.expires_at == clock() + timedelta(days=30)
    assert '<time datetime="2026-04-21T12:00:00Z">' in _html(client.get("/tokens"))

    clock.advance(timedelta(days=30).total_seconds())
    assert _api(client, plaintext).status_code == 401
    assert "badge-expired" in _html(client.get("/tokens"))


def test_token_without_expiry_never_expires(ui, project):
    client, headers = ui
    _create_token(client, headers, expires_in="")
    assert db.session.scalar(select(ApiToken)).expires_at is None


def test_revoking_swaps_the_row_and_the_token_answers_401(ui, project, make_token):
    client, headers = ui
    plaintext = make_token("webhooks:read")
    token = db.session.scalar(select(ApiToken))
    assert _api(client, plaintext).status_code == 200
    page = _html(client.get("/tokens"))
    assert "hx-confirm=" in page and f"/tokens/{token.id}/revoke" in page

    response = client.post(f"/tokens/{token.id}/revoke", headers=headers)
    assert response.status_code == 200
    row = _html(response)
    assert row.strip().startswith("<tr") or '<tr id="token-' in row
    assert "badge-revoked" in row and "/revoke" not in row
    assert _api(client, plaintext).status_code == 401
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_another_users_token_is_a_404_and_not_listed(ui, project, clock):
    client, headers = ui
    other = _member(clock)
    token, plaintext = auth.create_token(db.session, other, "theirs", "webhooks:read", None,
                                         None, clock())
    db.session.commit()
    assert "theirs" not in _html(client.get("/tokens"))
    assert client.post(f"/tokens/{token.id}/revoke", headers=headers).status_code == 404
    assert client.post("/tokens/99999999999/revoke", headers=headers).status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert _api(client, plaintext).status_code == 200


def test_last_use_is_shown(ui, project, clock, make_token):
    client, headers = ui
    plaintext = make_token("webhooks:read")
    row = _html(client.get("/tokens")).split('id="token-', 1)[1]
    assert "never" in row.split("</tr>")[0]
    clock.advance(300)
    _api(client, plaintext)
    row = _html(client.get("/tokens")).split('id="token-', 1)[1].split("</tr>")[0]
    assert '<time datetime="2026-03-22T12:05:00Z">2026-03-22 12:05</time>' in row


def test_posts_without_csrf_are_refused(ui, project):
    client, _ = ui
    response = _create_token(client, {"HX-Request": "true"})
    assert response.status_code == 400 and _count(ApiToken) == 0
    response = client.post("/admin/users", data={"email": "x@example.com",
                                                 "password": "long enough"})
    assert response.status_code == 400 and _count(User) == 1


def test_pages_vary_on_hx_request_and_carry_no_inline_code(ui, project):
    client, _ = ui
    for path in ("/tokens", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
        html = _html(response)
        assert "<script>" not in html and " style=" not in html
        assert "onclick" not in html and "hx-on" not in html and "js:" not in html


# --- Users ----------------------------------------------------------------------------------

def test_admin_creates_a_member_who_can_then_sign_in(ui, clock):
    client, headers = ui
    response = client.post("/admin/users", data={"email": "New@Example.com",
                                                 "password": "long enough"}, headers=headers)
    assert response.status_code == 200
    html = _html(response)
    assert "Created new@example.com" in html
    assert '<tbody id="user-rows" hx-swap-oob="true">' in html and "new@example.com" in html
    user = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.is_admin is False
    assert auth.check_login(db.session, "new@example.com", "long enough") is not None


def test_admin_checkbox_creates_an_administrator(ui):
    client, headers = ui
    client.post("/admin/users", data={"email": "boss@example.com", "password": "long enough",
                                      "is_admin": "1"}, headers=headers)
    assert db.session.scalar(select(User.is_admin).where(User.email == "boss@example.com"))


@pytest.mark.parametrize("email, password, field, message", [
    ("not-an-email", "long enough", "email", "valid email"),
    ("short@example.com", "short", "password", "at least 8"),
    ("admin@example.com", "long enough", "email", "already exists"),
])
def test_user_form_errors_are_inline(ui, email, password, field, message):
    client, headers = ui
    response = client.post("/admin/users", data={"email": email, "password": password},
                           headers=headers)
    assert response.status_code == 422
    html = _html(response)
    assert f'id="{field}-error"' in html and message in html
    assert 'id="user-create"' in html and "<html" not in html
    assert _count(User) == 1


def test_make_admin_and_remove_admin_swap_the_row(ui, clock):
    client, headers = ui
    member = _member(clock)
    response = client.post(f"/admin/users/{member.id}/admin", data={"admin": "1"},
                           headers=headers)
    assert response.status_code == 200
    assert f'<tr id="user-{member.id}"' in _html(response) and "administrator" in _html(response)
    db.session.expire_all()
    assert db.session.get(User, member.id).is_admin is True

    response = client.post(f"/admin/users/{member.id}/admin", data={"admin": "0"},
                           headers=headers)
    assert response.status_code == 200 and "Make admin" in _html(response)
    db.session.expire_all()
    assert db.session.get(User, member.id).is_admin is False


def test_removing_a_user_deletes_them_and_their_tokens(ui, project, clock):
    client, headers = ui
    member = _member(clock, projects=[774])
    _, plaintext = auth.create_token(db.session, member, "theirs", "webhooks:read", None, None,
                                     clock())
    db.session.commit()
    response = client.post(f"/admin/users/{member.id}/delete", headers=headers)
    assert response.status_code == 200
    # delete-row: an empty answer replaces the row; the members panel is told to refresh.
    assert _html(response).strip() == ""
    assert response.headers["HX-Trigger"] == "users-changed"
    db.session.expire_all()
    assert db.session.get(User, member.id) is None
    assert _count(ApiToken) == 0 and _count(memberships) == 0
    assert _api(client, plaintext).status_code == 401


def test_you_cannot_remove_or_demote_yourself(ui, admin, clock):
    client, headers = ui
    _member(clock, email="second@example.com", is_admin=True)  # not the last admin either
    for path, data in ((f"/admin/users/{admin.id}/delete", {}),
                       (f"/admin/users/{admin.id}/admin", {"admin": "0"})):
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 422
        assert f'id="user-{admin.id}-error"' in _html(response)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_admin is True


def test_another_administrator_can_be_removed_but_not_the_last_one(ui, admin, clock):
    client, headers = ui
    other = _member(clock, email="second@example.com", is_admin=True)
    assert client.post(f"/admin/users/{other.id}/delete", headers=headers).status_code == 200
    # Now the signed-in admin is the last one; even an action by someone else may not remove it.
    member = _member(clock)
    with pytest.raises(Invalid, match="last administrator"):
        auth.delete_user(db.session, member, admin)
    with pytest.raises(Invalid, match="last administrator"):
        auth.set_admin(db.session, member, admin, False)
    db.session.rollback()
    assert db.session.get(User, admin.id).is_admin is True


def test_unknown_user_actions_are_404(ui):
    client, headers = ui
    assert client.post("/admin/users/4242/delete", headers=headers).status_code == 404
    assert client.post("/admin/users/4242/admin", data={"admin": "1"},
                       headers=headers).status_code == 404


# --- Project members ------------------------------------------------------------------------

def test_members_panel_follows_the_chosen_project(ui, project, clock):
    client, headers = ui
    db.session.add(Project(id=900, name="Website", created_at=clock(), updated_at=clock()))
    db.session.commit()
    page = _html(client.get("/admin/users"))
    assert re.search(r'<option value="774" selected>', page)
    response = client.get("/admin/users?project=900", headers={"HX-Request": "true"})
    html = _html(response)
    assert "<html" not in html and 'id="members"' in html
    assert re.search(r'<option value="900" selected>', html)
    assert "/admin/projects/900/members" in html
    assert 'hx-get="/admin/users?project=900"' in html  # refreshes itself on users-changed
    assert "HX-Request" in response.headers["Vary"]


def test_adding_an_unknown_email_is_an_inline_error(ui, project):
    client, headers = ui
    response = client.post("/admin/projects/774/members",
                           data={"member_email": "nobody@example.com"}, headers=headers)
    assert response.status_code == 422
    html = _html(response)
    assert 'id="member_email-error"' in html and "no user with email" in html
    assert 'value="nobody@example.com"' in html
    assert _count(memberships) == 0


def test_added_member_sees_the_project_and_loses_it_at_once_when_removed(
        client, admin, project, clock, ui_login):
    member = _member(clock)
    headers = {"X-CSRFToken": ui_login(), "HX-Request": "true"}
    response = client.post("/admin/projects/774/members",
                           data={"member_email": " Member@Example.com "}, headers=headers)
    assert response.status_code == 200
    html = _html(response)
    assert f'<tr id="member-{member.id}">' in html
    assert f'<tr id="user-{member.id}" hx-swap-oob="true">' in html  # projects column updated

    ui_login(*MEMBER)
    assert client.get("/projects/774/webhooks").status_code == 200
    _, plaintext = auth.create_token(db.session, db.session.get(User, member.id), "mine",
                                     "webhooks:read", None, None, clock())
    db.session.commit()
    assert _api(client, plaintext).json["items"][0]["id"] == 774

    headers = {"X-CSRFToken": ui_login(), "HX-Request": "true"}
    response = client.post(f"/admin/projects/774/members/{member.id}/remove", headers=headers)
    assert response.status_code == 200 and f'<tr id="member-{member.id}">' not in _html(response)

    ui_login(*MEMBER)
    assert client.get("/projects/774/webhooks").status_code == 404
    assert _api(client, plaintext).json["items"] == []


def test_members_get_404_on_every_admin_page(client, admin, project, clock, ui_login):
    _member(clock, projects=[774])
    headers = {"X-CSRFToken": ui_login(*MEMBER), "HX-Request": "true"}
    assert client.get("/admin/users").status_code == 404
    assert client.post("/admin/users", data={"email": "x@example.com", "password": "long enough"},
                       headers=headers).status_code == 404
    assert client.post(f"/admin/users/{admin.id}/delete", headers=headers).status_code == 404
    assert client.post("/admin/projects/774/members", data={"member_email": MEMBER[0]},
                       headers=headers).status_code == 404
    assert "/admin/users" not in _html(client.get("/tokens"))
    assert _count(User) == 2


def test_plain_form_posts_work_without_javascript(ui, admin, project):
    client, headers = ui
    plain = {"X-CSRFToken": headers["X-CSRFToken"]}
    created = _create_token(client, plain)
    assert created.status_code == 200 and "<html" in _html(created)
    assert NEW_TOKEN_RE.search(_html(created))
    response = client.post("/admin/users", data={"email": "plain@example.com",
                                                 "password": "long enough"}, headers=plain)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    refused = client.post(f"/admin/users/{admin.id}/delete", headers=plain)
    assert refused.status_code == 422
    assert "<html" in _html(refused) and "you cannot remove your own account" in _html(refused)
    assert re.search(r'<option value="774" selected>', _html(refused))  # the whole page again
    added = client.post("/admin/projects/774/members", data={"member_email": "plain@example.com"},
                        headers=plain)
    assert added.status_code == 302
    assert added.headers["Location"].endswith("/admin/users?project=774")
