"""Real processes: migrations, the CLI, `flask run` with its scheduler, and `flask worker`."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from webhooks.delivery.signing import sign
from webhooks.models import Base

ROOT = Path(__file__).resolve().parent.parent


def flask_env(database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": "process-test-key",
                "WEBHOOKS_ALLOWED_HOSTS": "loopback", "WEBHOOKS_POLL_SECONDS": "0.2",
                "WEBHOOKS_RETRY_DELAYS": "1,2", "PYTHONUNBUFFERED": "1", **extra})
    return env


def flask(env: dict, *args: str, input: str | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                            input=input, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


class Process:
    """A `flask` subprocess whose output goes to a log file (shown when a test fails)."""

    def __init__(self, env: dict, log: Path, *args: str):
        self.log = log
        self._file = open(log, "w")
        self.popen = subprocess.Popen([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                                      stdout=self._file, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGINT) -> tuple[int, str]:
        self.popen.send_signal(sig)
        try:
            code = self.popen.wait(timeout=20)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()
                self.popen.wait()
            self._file.close()
        return code, self.log.read_text()


def setup_tenant(env: dict) -> str:
    """Migrate, then create an admin, project 774 and a token with the CLI; return the token."""
    flask(env, "db", "upgrade")
    flask(env, "users", "create", "ops@example.com", "--admin", "--password-stdin",
          input="a-long-password\n")
    flask(env, "projects", "create", "774", "TaskView")
    return flask(env, "tokens", "create", "--user", "ops@example.com", "--name", "ci", "--scopes",
                 "events:write,webhooks:read,webhooks:write").strip()


def test_migrations_build_exactly_the_schema_of_the_models(empty_database):
    flask(flask_env(empty_database), "db", "upgrade")
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.slow
def test_flask_run_serves_api_and_delivers_at_once(empty_database, receiver, tmp_path):
    env = flask_env(empty_database)
    token = setup_tenant(env)
    port = free_port()
    server = Process(env, tmp_path / "web.log", "run", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        headers = {"Authorization": f"Bearer {token}"}
        created = requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers,
                                json={"url": receiver.url(), "events": ["task.updated"]}, timeout=5)
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        sent = time.monotonic()
        accepted = requests.post(f"{base}/api/v1/events", headers=headers, timeout=5, json={
            "event": "task.updated", "task": {"id": 123, "goalId": 774},
            "changes": {"statusId": 5}, "initiatorId": 1})
        assert accepted.status_code == 202, accepted.text
        (request,) = receiver.wait_for(1, timeout=10)
        assert request.at - sent < 2, "ingest wakes the scheduler"
        assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
        assert json.loads(request.body)["task"]["id"] == 123
    finally:
        server.stop()


@pytest.mark.slow
def test_worker_delivers_and_exits_cleanly_on_sigterm(empty_database, receiver, tmp_path):
    env = flask_env(empty_database, SCHEDULER_ENABLED="0")
    token = setup_tenant(env)
    port = free_port()
    web = Process(env, tmp_path / "web.log", "run", "--port", str(port))
    worker = Process(env, tmp_path / "worker.log", "worker")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        headers = {"Authorization": f"Bearer {token}"}
        requests.post(f"{base}/api/v1/projects/774/webhooks", headers=headers, timeout=5,
                      json={"url": receiver.url(), "events": ["task.created"]}).raise_for_status()
        for task in range(5):
            requests.post(f"{base}/api/v1/events", headers=headers, timeout=5, json={
                "event": "task.created", "task": {"id": task, "goalId": 774}}).raise_for_status()
        received = receiver.wait_for(5, timeout=15)
        assert sorted(json.loads(r.body)["task"]["id"] for r in received) == list(range(5))
    finally:
        code, output = worker.stop(signal.SIGTERM)
        web.stop()
    assert code == 0, output
    assert "finishing attempts in flight" in output
