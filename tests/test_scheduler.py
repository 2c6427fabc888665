"""The scheduler: where it starts, and that ingest wakes it instead of waiting for the poll."""
from __future__ import annotations

import pytest

from webhooks import manage
from webhooks.dbtx import writing
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.scheduler import Runner, flask_command, should_start


@pytest.mark.parametrize("argv, environ, expected", [
    (["/venv/bin/gunicorn", "app:app"], {}, True),
    (["/venv/bin/flask", "run"], {}, True),
    (["/venv/bin/flask", "--app", "app", "run", "--port", "5000"], {}, True),
    (["/venv/bin/flask", "db", "upgrade"], {}, False),
    (["/venv/bin/flask", "shell"], {}, False),
    (["/venv/bin/flask", "worker"], {}, False),  # the worker starts its own, blocking
    (["/venv/bin/flask", "run", "--debug"], {}, False),  # the reloader's parent
    (["/venv/bin/flask", "run", "--debug"], {"WERKZEUG_RUN_MAIN": "true"}, True),
    (["/venv/bin/flask", "run"], {"FLASK_DEBUG": "1"}, False),
    (["/venv/bin/flask", "run", "--debug", "--no-reload"], {}, True),
])
def test_scheduler_starts_only_where_it_should(app, argv, environ, expected):
    app.testing = False
    try:
        assert should_start(app, argv, environ) is expected
    finally:
        app.testing = True


def test_scheduler_never_starts_under_testing_or_when_disabled(app):
    assert should_start(app, ["/venv/bin/gunicorn"], {}) is False
    app.testing = False
    app.config["SCHEDULER_ENABLED"] = False
    try:
        assert should_start(app, ["/venv/bin/gunicorn"], {}) is False
    finally:
        app.testing = True
        app.config["SCHEDULER_ENABLED"] = True


def test_flask_command_reads_the_subcommand():
    assert flask_command(["/x/flask", "-e", ".env", "worker"]) == "worker"
    assert flask_command(["/x/python", "-m", "pytest"]) is None


@pytest.fixture
def runner_with_slow_poll(app):
    """A real background scheduler whose poll is an hour: only a wake-up can deliver."""
    app.config["WEBHOOKS_POLL_SECONDS"] = 3600
    runner = Runner(app)
    app.extensions["webhooks_scheduler"] = runner
    runner.start()
    runner.dispatcher.idle_wait = 0.05
    yield runner
    runner.shutdown()
    app.extensions.pop("webhooks_scheduler")


def test_ingest_wakes_the_scheduler_so_delivery_does_not_wait_for_the_poll(
        app, client, auth_headers, project, receiver, clock, runner_with_slow_poll):
    db.session.commit()  # the scheduler writes meanwhile: write in a write transaction
    with writing():
        manage.create_webhook(db.session, app.extensions["secret_box"],
                              HostPolicy.parse("loopback"), project, receiver.url(),
                              ["task.created"], clock())
        db.session.commit()
    receiver.wait_for(0)
    for task in range(3):  # the first run may still be on its start-up tick; later ones wake it
        response = client.post("/api/v1/events", headers=auth_headers, json={
            "event": "task.created", "task": {"id": task, "goalId": 774}})
        assert response.status_code == 202
        receiver.wait_for(task + 1, timeout=5)
    health = client.get("/healthz").json
    assert health["scheduler"]["running"] is True
    assert health["scheduler"]["lastTick"] is not None
