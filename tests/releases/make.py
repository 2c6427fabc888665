"""Make the database fixtures of an earlier release, by running that release (SPEC §6).

    .venv/bin/python -m tests.releases.make [COMMIT] [NAME]

checks COMMIT (default e48279e: the last commit with the schema at revision 0001) out of git
into a temporary folder and runs it, as a team would have, on SQLite and on PostgreSQL
(TEST_DATABASE_URL): `flask db upgrade`, users, projects and tokens by its CLI, webhooks,
events, a test send, retries and a manual retry through its API against receivers on
127.0.0.1, until every delivery is final. It then writes, per database,
`NAME.<database>.sql` (the database itself: SQLite's dump, or pg_dump's) and
`NAME.<database>.json` (the SECRET_KEY, token and webhook secrets it showed, and its answers to
every GET of the management API). `tests/test_release_upgrade.py` upgrades these with today's
code and compares. Not run by `make test`.
"""
from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from tests.conftest import fresh_pg_database
from tests.processes import ROOT, Process, free_port, wait_http
from tests.receiver import Receiver

HERE = Path(__file__).resolve().parent
SECRET_KEY = "release-fixture-secret-key"
PASSWORD = "correct horse battery"
UNICODE = "Ünïcødé ✓ 🚀 «quotes» \"\\ 日本語"


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else "e48279e"
    name = sys.argv[2] if len(sys.argv) > 2 else "release-0001"
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        tarfile.open(fileobj=io.BytesIO(archive)).extractall(code, filter="data")
        sqlite_file = Path(tmp) / "webhooks.sqlite3"
        record(code, f"sqlite:///{sqlite_file}", Path(tmp), name, "sqlite",
               lambda: "\n".join(sqlite3.connect(sqlite_file).iterdump()) + "\n")
        with fresh_pg_database("webhooks_release") as url:
            record(code, url, Path(tmp), name, "postgresql", lambda: pg_dump(url))


def pg_dump(url: str) -> str:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", "--no-acl", plain], check=True,
                          capture_output=True, text=True).stdout


def record(code: Path, url: str, tmp: Path, name: str, kind: str, dump) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, WEBHOOKS_ALLOWED_HOSTS="loopback",
               WEBHOOKS_POLL_SECONDS="0.2", WEBHOOKS_RETRY_DELAYS="0.3,0.3",
               PYTHONUNBUFFERED="1", FLASK_APP="app.py", PYTHONPATH=str(code))

    def flask(*args: str, stdin: str | None = None) -> str:
        return subprocess.run([sys.executable, "-m", "flask", *args], cwd=code, env=env,
                              input=stdin, check=True, capture_output=True, text=True).stdout

    flask("db", "upgrade")
    flask("users", "create", "admin@example.com", "--admin", "--password-stdin", stdin=PASSWORD)
    flask("users", "create", "member@example.com", "--password-stdin", stdin=PASSWORD)
    flask("projects", "create", "774", "TaskView")
    flask("projects", "create", "775", UNICODE)
    flask("projects", "add-member", "775", "member@example.com")
    tokens = {
        "admin": flask("tokens", "create", "--user", "admin@example.com", "--name", "all",
                       "--scopes", "events:write,webhooks:read,webhooks:write,projects:write"),
        "member": flask("tokens", "create", "--user", "member@example.com", "--name", UNICODE,
                        "--scopes", "events:write,webhooks:read", "--project", "775"),
        "expired": flask("tokens", "create", "--user", "admin@example.com", "--name", "short",
                         "--scopes", "webhooks:read", "--expires-in", "1s"),
    }
    tokens = {k: v.strip() for k, v in tokens.items()}
    ok, failing = Receiver(), Receiver()
    failing.default = 503
    port = free_port()
    server = Process(env, tmp / f"{kind}.log", "run", "--port", str(port), cwd=code)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        answers, secrets = use(base, tokens, ok.url(), failing.url())
    except BaseException:
        print((tmp / f"{kind}.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.stop()
        ok.close()
        failing.close()
    (HERE / f"{name}.{kind}.sql").write_text(dump())
    (HERE / f"{name}.{kind}.json").write_text(json.dumps({
        "secretKey": SECRET_KEY, "tokens": tokens, "secrets": secrets, "answers": answers,
    }, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {name}.{kind}.sql and .json ({len(answers)} answers)", file=sys.stderr)


def use(base: str, tokens: dict, ok_url: str, failing_url: str) -> tuple[dict, dict]:
    """Use the release as a team would; return its answers to every GET, and the secrets."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {tokens['admin']}"

    def call(method: str, path: str, **kwargs):
        response = api.request(method, base + path, timeout=30, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None

    secrets = {}
    hooks = [("774", ok_url, ["task.created", "task.updated", "sprint.completed"]),
             ("774", failing_url, ["task.created", "time-entry.started"]),
             ("775", ok_url + "/second", ["task.assignedToSprint", "task.updated"])]
    for project, url, events in hooks:
        made = call("POST", f"/api/v1/projects/{project}/webhooks", json={
            "url": url, "events": events})
        secrets[str(made["id"])] = made["secret"]
    call("POST", "/api/v1/projects/774/webhooks", json={"url": ok_url + "/off",
                                                         "events": ["task.deleted"]})
    off = call("GET", "/api/v1/projects/774/webhooks")["items"][-1]["id"]
    call("PATCH", f"/api/v1/webhooks/{off}", json={"active": False})
    task = {"id": 123, "goalId": 774, "description": UNICODE, "complete": False, "statusId": 5,
            "priorityId": 2, "tags": [1, 3], "assignedUsers": [10, 22], "subtasks": []}
    events = [
        {"event": "task.created", "task": task, "initiatorId": 1},
        {"event": "task.updated", "task": {**task, "statusId": 6}, "changes": {"statusId": 6},
         "initiatorId": None},
        {"event": "sprint.completed", "sprintId": 42, "goalId": 774, "initiatorId": 1,
         "sprint": {"id": 42, "goalId": 774, "name": UNICODE, "status": "completed",
                    "startDate": "2026-03-08", "endDate": "2026-03-22", "goalAchieved": True,
                    "completedAt": "2026-03-22T12:00:00.000Z"}},
        {"event": "time-entry.started", "timeEntry": {"id": 9, "taskId": 123, "goalId": 774},
         "timestamp": "2026-03-22T12:00:00.000Z"},
    ]
    for n, event in enumerate(events):
        call("POST", "/api/v1/events", json=event, headers={"Idempotency-Key": f"key-{n}"})
    member = {"Authorization": f"Bearer {tokens['member']}"}
    call("POST", "/api/v1/events", headers=member, json={
        "event": "task.assignedToSprint", "taskId": 5, "sprintId": None, "prevSprintId": 42,
        "goalId": 775, "initiatorId": 2})
    first = int(next(iter(secrets)))
    call("POST", f"/api/v1/webhooks/{first}/test")
    wait_final(call, "774")
    failing_id = int(list(secrets)[1])
    failed = call("GET", f"/api/v1/webhooks/{failing_id}/deliveries?status=failed")["items"]
    call("POST", f"/api/v1/deliveries/{failed[0]['id']}/retry")
    wait_final(call, "774")
    return answers_of(call, member), secrets


def wait_final(call, project: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hooks = call("GET", f"/api/v1/projects/{project}/webhooks")["items"]
        pending = [d for h in hooks for d in call(
            "GET", f"/api/v1/webhooks/{h['id']}/deliveries?status=pending")["items"]]
        if not pending:
            return
        time.sleep(0.3)
    raise AssertionError("deliveries still pending")


def answers_of(call, member: dict) -> dict:
    """The release's answer to every GET of the management API, by path."""
    paths = ["/api/v1/projects"]
    for project in call("GET", "/api/v1/projects")["items"]:
        pid = project["id"]
        paths += [f"/api/v1/projects/{pid}", f"/api/v1/projects/{pid}/webhooks"]
        for hook in call("GET", f"/api/v1/projects/{pid}/webhooks")["items"]:
            listing = f"/api/v1/webhooks/{hook['id']}/deliveries?limit=100"
            paths += [f"/api/v1/webhooks/{hook['id']}", listing]
            paths += [f"/api/v1/deliveries/{d['id']}" for d in call("GET", listing)["items"]]
    answers = {path: call("GET", path) for path in paths}
    answers["member:/api/v1/projects"] = call("GET", "/api/v1/projects", headers=member)
    return answers


if __name__ == "__main__":
    main()
