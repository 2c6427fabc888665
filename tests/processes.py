"""Helpers for tests that run the service as real processes (`flask run`, `flask worker`)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def flask_env(database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": "process-test-key",
                "WEBHOOKS_ALLOWED_HOSTS": "loopback", "WEBHOOKS_POLL_SECONDS": "0.2",
                "WEBHOOKS_RETRY_DELAYS": "1,2", "PYTHONUNBUFFERED": "1",
                # a process that will not stop is sent SIGABRT: it prints where it is stuck
                "PYTHONFAULTHANDLER": "1", **extra})
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


# Generous: on a loaded 2-core CI machine a gunicorn or flask process has taken over 20 s to
# answer; waiting longer costs nothing when it is up sooner.
def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not up yet, or too busy to answer in time
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


class Process:
    """A `flask` subprocess whose output goes to a log file (shown when a test fails).

    One still running when its test ends (the test failed before stopping it) is killed then:
    see `kill_strays`.
    """

    running: set[Process] = set()

    def __init__(self, env: dict, log: Path, *args: str, cwd: Path = ROOT):
        self.log = log
        self._file = open(log, "w")
        self.popen = subprocess.Popen([sys.executable, "-m", "flask", *args], cwd=cwd, env=env,
                                      stdout=self._file, stderr=subprocess.STDOUT)
        Process.running.add(self)

    def stop(self, sig=signal.SIGINT) -> tuple[int, str]:
        self.popen.send_signal(sig)
        try:
            code = self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(self._stuck(sig)) from None
        finally:
            self.kill()
        return code, self.log.read_text()

    def _stuck(self, sig) -> str:
        """Why the process did not stop: its signal masks, and its threads' stacks."""
        status = Path(f"/proc/{self.popen.pid}/status").read_text().splitlines()
        masks = " ".join(line.replace("\t", "") for line in status if line.startswith("Sig"))
        self.popen.send_signal(signal.SIGABRT)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._file.flush()
        return (f"{' '.join(self.popen.args[2:])} did not stop within 20 s of signal "
                f"{sig}; {masks}; its log:\n{self.log.read_text()[-8000:]}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._file.close()
        Process.running.discard(self)


def kill_strays() -> None:
    """Kill the processes a failed test left running."""
    for process in list(Process.running):
        process.kill()


def setup_tenant(env: dict) -> str:
    """Migrate, then create an admin, project 774 and a token with the CLI; return the token."""
    flask(env, "db", "upgrade")
    flask(env, "users", "create", "ops@example.com", "--admin", "--password-stdin",
          input="a-long-password\n")
    flask(env, "projects", "create", "774", "TaskView")
    return flask(env, "tokens", "create", "--user", "ops@example.com", "--name", "ci", "--scopes",
                 "events:write,webhooks:read,webhooks:write").strip()


def setup_tenant_in_process(database_url: str) -> str:
    """The same as `setup_tenant`, without paying for four CLI processes: the schema from the
    models, an admin, project 774 and a token with every scope. Returns the token."""
    from webhooks import create_app
    from webhooks.auth import create_token, create_user
    from webhooks.clock import utcnow
    from webhooks.extensions import db
    from webhooks.models import Base, Project

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "process-test-key"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        now = utcnow()
        user = create_user(db.session, "ops@example.com", "a-long-password", True, now)
        db.session.add(Project(id=774, name="TaskView", created_at=now, updated_at=now))
        _, token = create_token(db.session, user, "ci", "events:write,webhooks:read,webhooks:write",
                                None, None, now)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token


def wait_for_port(port: int, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")
