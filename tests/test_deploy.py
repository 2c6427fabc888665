"""Deployment as a platform does it: the Procfile under a Procfile runner (honcho), against
PostgreSQL given as a `postgres://` URL, with one web process and two workers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from webhooks.delivery.signing import sign

from .processes import ROOT, free_port, wait_http

pytestmark = pytest.mark.slow
HONCHO = [sys.executable, "-m", "honcho"]


def honcho(env: dict, *args: str, input: str | None = None) -> str:
    result = subprocess.run([*HONCHO, *args], cwd=ROOT, env=env, input=input,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("empty_database", ["postgresql"], indirect=True)
def test_procfile_under_honcho_with_one_web_and_two_workers_delivers(
        empty_database, receiver, tmp_path):
    platform_url = empty_database.replace("postgresql+psycopg://", "postgres://", 1)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update({"DATABASE_URL": platform_url, "SECRET_KEY": "deploy-test-key",
                "PORT": str(port), "WEB_CONCURRENCY": "1", "SCHEDULER_ENABLED": "0",
                "WEBHOOKS_ALLOWED_HOSTS": "loopback", "WEBHOOKS_POLL_SECONDS": "0.2",
                "PATH": f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}"})
    # The release phase, then one-off commands, as `heroku run` would.
    honcho(env, "run", "flask", "db", "upgrade")
    honcho(env, "run", "flask", "users", "create", "ops@example.com", "--admin",
           "--password-stdin", input="a-long-password\n")
    honcho(env, "run", "flask", "projects", "create", "774", "TaskView")
    token = honcho(env, "run", "flask", "tokens", "create", "--user", "ops@example.com",
                   "--name", "deploy", "--scopes", "events:write,webhooks:write").strip()
    log = open(tmp_path / "honcho.log", "w")
    formation = subprocess.Popen([*HONCHO, "start", "-c", "web=1,worker=2", "web", "worker"],
                                 cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        created = requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers, timeout=10,
                                json={"url": receiver.url(), "events": ["task.updated"]})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        for task in range(10):
            accepted = requests.post(f"{base}/api/v1/events", headers=headers, timeout=10, json={
                "event": "task.updated", "task": {"id": task, "goalId": 774},
                "changes": {"statusId": 5}})
            assert accepted.status_code == 202, accepted.text
        received = receiver.wait_for(10, timeout=30)
    finally:
        formation.send_signal(signal.SIGINT)
        try:
            formation.wait(30)
        finally:
            log.close()
    output = (tmp_path / "honcho.log").read_text()
    assert sorted(json.loads(r.body)["task"]["id"] for r in received) == list(range(10))
    assert all(r.headers["X-Webhook-Signature"] == sign(r.body, secret) for r in received)
    assert "worker.1" in output and "worker.2" in output and "web.1" in output
    assert formation.returncode is not None


def test_gunicorn_writes_json_lines_behind_a_trusted_proxy(empty_database, tmp_path):
    """WEBHOOKS_LOG_FORMAT=json covers gunicorn's own error and access lines; with one trusted
    proxy the access line names the client the proxy saw."""
    from .processes import setup_tenant_in_process

    setup_tenant_in_process(empty_database)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update({"DATABASE_URL": empty_database, "SECRET_KEY": "process-test-key",
                "PORT": str(port), "WEB_CONCURRENCY": "1", "SCHEDULER_ENABLED": "0",
                "WEBHOOKS_LOG_FORMAT": "json", "WEBHOOKS_TRUSTED_PROXIES": "1"})
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app", "--config",
                               "gunicorn.conf.py"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        answer = requests.get(f"http://127.0.0.1:{port}/login?x=1", timeout=5,
                              headers={"X-Forwarded-For": "203.0.113.7"})
        assert answer.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    lines = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"gunicorn.error", "gunicorn.access"} <= {e["logger"] for e in entries}
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    (login,) = [e for e in entries if e["logger"] == "gunicorn.access" and e["path"] == "/login"]
    assert (login["client"], login["method"], login["query"], login["status"]) == (
        "203.0.113.7", "GET", "x=1", 200)
    assert isinstance(login["duration_us"], int)
