"""The example receivers in examples/, each run as a real process and sent real deliveries.

Go, PHP, Ruby and Node come from Debian's packages (`.ci/run` installs them). Without one, its
test is skipped locally; in CI (CI=true) it fails instead, as the browser tests do.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from .processes import ROOT, free_port, wait_for_port

EXAMPLES = ROOT / "examples"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# kind: (the tool it needs, its command line, whether its webhook is in Standard Webhooks mode)
RECEIVERS = {
    "node": ("node", ["node", str(EXAMPLES / "webhook-receiver.js")], False),
    "python": (None, [sys.executable, str(EXAMPLES / "python_receiver.py")], False),
    "standard": (None, [sys.executable, str(EXAMPLES / "standard_webhooks_receiver.py")], True),
    "go": ("go", ["{go_receiver}"], False),
    "php": ("php", ["php", "-S", "127.0.0.1:{port}", str(EXAMPLES / "php_receiver.php")], False),
    "ruby": ("ruby", ["ruby", str(EXAMPLES / "ruby_receiver.rb")], False),
}


def require(tool: str | None) -> None:
    """Skip when a toolchain is missing, except in CI, where every example must really run."""
    if tool is None or shutil.which(tool):
        return
    message = f"{tool} is not installed (apt-get install golang-go php-cli ruby nodejs)"
    if IN_CI:
        pytest.fail(f"example receiver skipped in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def go_receiver(tmp_path_factory):
    """The Go example, compiled once per test session (`go run` would compile it every time)."""
    require("go")
    binary = tmp_path_factory.mktemp("go") / "go_receiver"
    cache = os.path.join(tempfile.gettempdir(), "webhooks-tests-go-cache")  # kept between runs
    env = {**os.environ, "GOCACHE": cache, "GOPROXY": "off", "GOTOOLCHAIN": "local",
           "GOFLAGS": ""}
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=EXAMPLES / "go_receiver",
                   env=env, check=True, timeout=300)
    return binary


def command_for(kind: str, port: int, request) -> list[str]:
    tool, command, _ = RECEIVERS[kind]
    require(tool)
    go_receiver = request.getfixturevalue("go_receiver") if kind == "go" else None
    return [part.format(port=port, go_receiver=go_receiver) for part in command]


def ingest(client, auth_headers, status_id: int) -> None:
    answer = client.post("/api/v1/events", headers=auth_headers, json={
        "event": "task.updated", "task": {"id": 123, "goalId": 774},
        "changes": {"statusId": status_id}, "initiatorId": 1})
    assert answer.status_code == 202, answer.json


def forge(port: int, signature: str | None) -> int:
    """POST a body the service did not sign; return the answer's status."""
    headers = {"Content-Type": "application/json", "webhook-id": "1",
               "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"}
    if signature is not None:
        headers["X-Webhook-Signature"] = signature
    return requests.post(f"http://127.0.0.1:{port}/", data=b'{"event":"task.deleted"}',
                         headers=headers, timeout=5).status_code


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(RECEIVERS))
def test_example_receiver_accepts_a_real_delivery_and_refuses_one_signed_with_another_secret(
        kind, client, auth_headers, project, dispatch, tmp_path, request):
    port = free_port()
    command = command_for(kind, port, request)
    _, _, standard = RECEIVERS[kind]
    hook = client.post("/api/v1/projects/774/webhooks", headers=auth_headers, json={
        "url": f"http://127.0.0.1:{port}/", "events": ["task.updated"],
        "standardWebhooks": standard}).json
    log = tmp_path / "receiver.log"
    with open(log, "w") as out:
        receiver = subprocess.Popen(command, env={"PORT": str(port),
                                                  "WEBHOOK_SECRET": hook["secret"],
                                                  "PATH": "/usr/local/bin:/usr/bin:/bin"},
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                wait_for_port(port)
            except AssertionError:
                out.flush()
                raise AssertionError(f"{' '.join(command)} did not start: {log.read_text()}")
            ingest(client, auth_headers, status_id=5)
            assert dispatch() == 1
            # the receiver keeps the old secret: the next delivery is signed with another one
            rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret",
                                  headers=auth_headers)
            assert rotated.status_code == 200
            ingest(client, auth_headers, status_id=6)
            assert dispatch() == 1
            forged = [forge(port, None), forge(port, "sha256=00"),
                      forge(port, "sha256=" + "0" * 64)]
        finally:
            receiver.terminate()
            receiver.wait(10)
    output = log.read_text()
    items = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries",
                       headers=auth_headers).json["items"]
    codes = [(d["status"], d["httpCode"]) for d in reversed(items)]
    lines = output.splitlines()
    assert lines.count("Valid") == 1 and lines.count("INVALID") == 4, output
    assert '"statusId": 5' in output
    if kind == "node":  # the doc's script prints INVALID but answers 200 either way
        assert codes == [("success", 200), ("success", 200)]
        assert forged == [200, 200, 200]
        return
    assert codes == [("success", 200), ("pending", 401)], output  # pending: a retry is due
    assert forged == [401, 401, 401], output
    assert '"statusId": 6' not in output
