"""Real processes: migrations, the CLI, `flask run` with its scheduler, and `flask worker`."""
from __future__ import annotations

import json
import signal
import time

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from webhooks.delivery.signing import sign
from webhooks.models import Base

from .processes import Process, flask, flask_env, free_port, setup_tenant, wait_http


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
