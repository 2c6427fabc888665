"""Black-box: a real `flask run` with shrunk delays, driven only through the API and the CLI."""
from __future__ import annotations

import time

import pytest
import requests

from .processes import Process, flask_env, free_port, setup_tenant, wait_http

pytestmark = pytest.mark.slow


@pytest.fixture
def service(empty_database, tmp_path):
    """(base URL, auth headers) of a running service: poll 0.2 s, retries after 1 s and 2 s."""
    env = flask_env(empty_database, WEBHOOKS_POLL_SECONDS="0.2", WEBHOOKS_RETRY_DELAYS="1,2",
                    WEBHOOKS_TIMEOUT_SECONDS="2")
    token = setup_tenant(env)
    port = free_port()
    server = Process(env, tmp_path / "web.log", "run", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz")
        yield base, {"Authorization": f"Bearer {token}"}
    finally:
        server.stop()


def poll(fetch, until, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_retries_come_at_the_configured_delays_then_the_delivery_fails(service, receiver):
    base, headers = service
    receiver.default = 500
    hook = requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers, timeout=5,
                         json={"url": receiver.url(), "events": ["sprint.deleted"]}).json()
    requests.post(f"{base}/api/v1/events", headers=headers, timeout=5, json={
        "event": "sprint.deleted", "sprintId": 42, "goalId": 774}).raise_for_status()
    first, second, third = receiver.wait_for(3, timeout=15)
    assert 0.9 <= second.at - first.at <= 1.9
    assert 1.9 <= third.at - second.at <= 2.9
    listing = poll(lambda: requests.get(f"{base}/api/v1/webhooks/{hook['id']}/deliveries",
                                        headers=headers, timeout=5).json(),
                   lambda page: page["items"][0]["status"] == "failed")
    delivery = listing["items"][0]
    assert (delivery["status"], delivery["attempts"], delivery["httpCode"]) == ("failed", 3, 500)
    assert delivery["nextAttemptAt"] is None
    time.sleep(1.5)
    assert len(receiver.requests) == 3, "no fourth attempt"


def test_ten_failed_deliveries_deactivate_and_the_counter_survives_reactivation(service, receiver):
    base, headers = service
    receiver.default = 500
    hook = requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers, timeout=5,
                         json={"url": receiver.url(), "events": ["task.deleted"]}).json()
    for task in range(10):
        requests.post(f"{base}/api/v1/events", headers=headers, timeout=5, json={
            "event": "task.deleted", "task": {"id": task, "goalId": 774}}).raise_for_status()
    url = f"{base}/api/v1/webhooks/{hook['id']}"
    state = poll(lambda: requests.get(url, headers=headers, timeout=5).json(),
                 lambda w: not w["active"])
    assert (state["active"], state["consecutiveFailures"]) == (False, 10)
    assert state["deactivatedAt"] is not None
    assert len(receiver.requests) == 30
    turned_on = requests.patch(url, headers=headers, json={"active": True}, timeout=5).json()
    assert (turned_on["active"], turned_on["consecutiveFailures"]) == (True, 10)
    receiver.default = 200
    requests.post(f"{base}/api/v1/events", headers=headers, timeout=5, json={
        "event": "task.deleted", "task": {"id": 99, "goalId": 774}}).raise_for_status()
    state = poll(lambda: requests.get(url, headers=headers, timeout=5).json(),
                 lambda w: w["consecutiveFailures"] == 0)
    assert (state["active"], state["consecutiveFailures"]) == (True, 0)
