"""The doc's "Setup" section, end to end, as a newcomer does it in the browser: first run,
a project, right-click → Webhooks, Add Webhook, copy the secret, an event arrives signed, and
the delivery shows as success in the history with its payload."""
from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import expect

from webhooks.delivery.signing import sign

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, idle, screenshot


def test_setup_section_of_the_doc_through_to_a_successful_delivery(page, live_server, receiver):
    # First run: the service offers to create the administrator.
    page.goto(live_server.url + "/")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    page.get_by_label("Project id (goalId)").fill("774")
    page.get_by_label("Name").fill("TaskView")
    page.get_by_role("button", name="Create project").click()

    # "Right-click the project in the sidebar → Webhooks"
    page.goto(live_server.url + "/tokens")
    page.locator("[data-project-menu]", has_text="TaskView").click(button="right")
    page.get_by_role("menu", name="Project").get_by_role("menuitem", name="Webhooks").click()
    expect(page).to_have_url(re.compile(r"/projects/774/webhooks$"))

    # "Click Add Webhook", "Enter the URL", "Select which events", "Click Add"
    page.get_by_role("button", name="Add Webhook").click()
    idle(page)
    page.get_by_label("URL").fill(receiver.url("/taskview"))
    page.get_by_role("group", name="Task").get_by_label("task.updated").check()
    page.get_by_role("button", name="Add", exact=True).click()

    # "Copy the secret and store it securely - it will not be shown again"
    panel = page.locator(".secret-panel")
    expect(panel).to_contain_text("it will not be shown again")
    secret = page.locator("#new-secret").inner_text().strip()

    # The host application needs a token to send events: made on the API tokens page.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("textbox", name="Name").fill("TaskView production")
    page.get_by_label("events:write").check()
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()

    # The application sends task.updated; the receiver gets it signed with the secret.
    response = requests.post(live_server.url + "/api/v1/events", timeout=10,
                             headers={"Authorization": f"Bearer {token}"},
                             json={"event": "task.updated",
                                   "task": {"id": 123, "goalId": 774,
                                            "description": "Fix login bug"},
                                   "changes": {"statusId": 5}, "initiatorId": 1})
    assert response.status_code == 202, response.text
    (request,) = receiver.wait_for(1, timeout=10)
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)

    # The delivery history shows it as a success, with its payload.
    page.goto(live_server.url + "/projects/774/webhooks")
    page.get_by_role("link", name=re.compile("^Deliveries")).first.click()
    row = page.locator("tbody", has_text="task.updated").first
    expect(row.get_by_text("success")).to_be_visible()
    expect(row).to_contain_text("200")
    row.get_by_text("task.updated").first.click()
    payload = page.locator("pre.payload").first
    expect(payload).to_contain_text('"description": "Fix login bug"')
    assert json.loads(payload.inner_text()) == json.loads(request.body)
    screenshot(page, "walkthrough-delivery")
