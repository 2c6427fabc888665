"""The example receivers in examples/, each run as a real process and sent real deliveries."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest
import requests

from .processes import ROOT, free_port, wait_for_port

EXAMPLES = ROOT / "examples"
RECEIVERS = {
    "node": (["node", str(EXAMPLES / "webhook-receiver.js")], False),
    "python": ([sys.executable, str(EXAMPLES / "python_receiver.py")], False),
    "standard": ([sys.executable, str(EXAMPLES / "standard_webhooks_receiver.py")], True),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(RECEIVERS))
def test_example_receiver_verifies_a_real_delivery_and_refuses_a_forged_one(
        kind, client, auth_headers, project, dispatch, tmp_path):
    command, standard = RECEIVERS[kind]
    if command[0] == "node" and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    port = free_port()
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
            wait_for_port(port)
            client.post("/api/v1/events", headers=auth_headers, json={
                "event": "task.updated", "task": {"id": 123, "goalId": 774},
                "changes": {"statusId": 5}, "initiatorId": 1})
            assert dispatch() == 1
            if kind != "node":  # the doc's Node script answers 200 either way
                forged = requests.post(f"http://127.0.0.1:{port}/", timeout=5,
                                       data=b'{"event":"task.deleted"}', headers={
                                           "X-Webhook-Signature": "sha256=" + "0" * 64,
                                           "webhook-id": "1", "webhook-timestamp":
                                           str(int(time.time())), "webhook-signature": "v1,AAAA"})
                assert forged.status_code == 401
        finally:
            receiver.terminate()
            receiver.wait(10)
    output = log.read_text()
    assert "Valid" in output.splitlines(), output
    assert '"statusId": 5' in output
    if kind != "node":
        assert "INVALID" in output.splitlines()
