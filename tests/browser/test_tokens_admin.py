"""API tokens, users and project members, in a real browser."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from webhooks.clock import utcnow
from webhooks.extensions import db
from webhooks.models import ApiToken, Project

from .conftest import idle, screenshot, sign_in


def test_token_is_shown_once_with_copy_then_revoked(admin_page, seeded):
    page = admin_page
    page.goto(seeded.url + "/tokens")
    page.get_by_label("Name", exact=True).fill("Deploy bot")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#scopes-error")).to_have_text("choose at least one scope")

    page.get_by_label("events:write").check()
    page.get_by_label("webhooks:read").check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token")
    expect(secret).to_have_text(re.compile(r"^whk_\S{20,}$"))
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    row = page.locator("#token-rows tr", has_text="Deploy bot")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("never")
    plaintext = secret.inner_text().strip()
    screenshot(page, "tokens")

    page.reload()
    expect(row).to_contain_text("active")
    expect(page.locator("#new-token")).to_have_count(0)
    assert plaintext not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert seeded.query(lambda: db.session.scalar(select(ApiToken.revoked_at))) is not None


def _add_project(project_id: int, name: str):
    def add():
        now = utcnow()
        db.session.add(Project(id=project_id, name=name, created_at=now, updated_at=now))
        db.session.commit()
    return add


def test_admin_adds_a_member_who_then_sees_only_that_project(admin_page, seeded, browser):
    seeded.query(_add_project(900, "Website"))
    page = admin_page
    page.goto(seeded.url + "/admin/users")
    page.get_by_label("Email", exact=True).fill("dev@example.com")
    page.get_by_label("Password").fill("member password")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#user-rows")).to_contain_text("dev@example.com")
    # The members panel refreshed itself (HX-Trigger): its suggestions know the new user.
    expect(page.locator("#user-emails option[value='dev@example.com']")).to_have_count(1)
    idle(page)  # the refreshed panel's select is live only once htmx has settled it

    page.get_by_role("combobox", name="Project").select_option("900")
    expect(page).to_have_url(re.compile(r"/admin/users\?project=900$"))
    page.get_by_label("Add a member by email").fill("nobody@example.com")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#member_email-error")).to_contain_text("no user with email")
    page.get_by_label("Add a member by email").fill("dev@example.com")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members tbody")).to_contain_text("dev@example.com")
    expect(page.locator("#user-rows tr", has_text="dev@example.com")).to_contain_text("Website")
    screenshot(page, "users")

    context = browser.new_context()
    try:
        member = context.new_page()
        sign_in(member, seeded, "dev@example.com", "member password")
        sidebar = member.get_by_role("navigation", name="Projects")
        expect(sidebar).to_contain_text("Website")
        expect(sidebar).not_to_contain_text("TaskView")
        response = member.goto(seeded.url + "/projects/774/webhooks")
        assert response.status == 404
        expect(member.get_by_role("heading", name="Not Found")).to_be_visible()
    finally:
        context.close()
