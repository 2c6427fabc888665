"""First run, sign in, projects and the sidebar's right-click menu, in a real browser."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot, sign_in, user_count


def test_first_visit_offers_setup_and_creates_the_first_admin(page, live_server):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Password again").fill("something else")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.locator("#confirm-error")).to_have_text("the two passwords differ")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Create your first project")).to_be_visible()
    assert user_count(live_server) == 1
    page.goto(live_server.url + "/setup")
    expect(page).to_have_url(re.compile(r"/login$|/$|/projects"))


def test_wrong_password_gets_an_inline_error(page, seeded):
    page.goto(seeded.url + "/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text("wrong email or password")
    screenshot(page, "login")


def test_create_project_then_right_click_opens_webhooks(page, seeded):
    sign_in(page, seeded)
    page.goto(seeded.url + "/?new=1")
    page.get_by_label("Project id (goalId)").fill("abc")
    page.get_by_label("Name").fill("Website")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("#id-error")).to_contain_text("integer")
    page.get_by_label("Project id (goalId)").fill("900")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(re.compile(r"/projects/900/webhooks$"))
    page.goto(seeded.url + "/projects/774/webhooks")
    page.locator("[data-project-menu]", has_text="Website").click(button="right")
    menu = page.get_by_role("menu", name="Project")
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Webhooks").click()
    expect(page).to_have_url(re.compile(r"/projects/900/webhooks$"))
