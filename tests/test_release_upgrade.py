"""A database made and used by an earlier release upgrades with every row and goes on working.

`tests/releases/` holds databases that release e48279e (schema revision 0001) made through its
own CLI and API, on SQLite and on PostgreSQL, with what it answered (see `tests/releases/make.py`).
Each test loads one, runs today's `flask db upgrade`, then today's `flask run`: every answer the
release gave reads back the same, its tokens still work (the expired one still does not), new
deliveries are signed with the secrets it showed, and a delivery that failed can be retried.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from webhooks.delivery.signing import sign

from .processes import Process, flask, flask_env, free_port, wait_http

RELEASES = Path(__file__).resolve().parent / "releases"


def load(database_url: str, dump: Path) -> None:
    """Restore a release's dump into an empty database."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(make_url(database_url).database) as conn:
            conn.executescript(dump.read_text())
        return
    plain = make_url(database_url).set(drivername="postgresql")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                    plain.render_as_string(hide_password=False), "-f", str(dump)],
                   check=True, capture_output=True)


def same_or_more(old, new) -> bool:
    """Whether `new` says everything `old` said (an upgrade may add fields, never change one)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and same_or_more(v, new[k])
                                             for k, v in old.items())
    if isinstance(old, list):
        return (isinstance(new, list) and len(old) == len(new)
                and all(same_or_more(a, b) for a, b in zip(old, new)))
    return old == new


@pytest.mark.slow
def test_a_database_of_release_0001_upgrades_and_goes_on_delivering(empty_database, receiver,
                                                                    tmp_path):
    kind = "sqlite" if empty_database.startswith("sqlite") else "postgresql"
    release = json.loads((RELEASES / f"release-0001.{kind}.json").read_text())
    load(empty_database, RELEASES / f"release-0001.{kind}.sql")
    env = flask_env(empty_database, SECRET_KEY=release["secretKey"],
                    WEBHOOKS_POLL_SECONDS="0.1")
    flask(env, "db", "upgrade")
    _charts_read_the_release_history(empty_database)
    port = free_port()
    server = Process(env, tmp_path / "server.log", "run", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz")
        _reads_back_the_same(base, release)
        _delivers_with_the_secrets_shown_before(base, release, receiver)
    finally:
        server.stop()


def _charts_read_the_release_history(database_url: str) -> None:
    """The upgrade filled the trends' rollup (0007) from the release's deliveries and attempts:
    every webhook's charts, seen from its last delivery, say what the rows say."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from webhooks.models import Delivery, DeliveryAttempt, Webhook
    from webhooks.trends import webhook_trends

    from .trends_history import as_reported, direct, from_trends

    engine = create_engine(database_url)
    with Session(engine) as session:
        now = max(session.scalar(select(func.max(Delivery.completed_at))),
                  session.scalar(select(func.max(DeliveryAttempt.attempted_at))))
        counted = 0
        for webhook_id in session.scalars(select(Webhook.id)):
            expected = as_reported(direct(session, [webhook_id], now))
            assert from_trends(webhook_trends(session, webhook_id, now)) == expected
            counted += sum(row[1] + row[2] + row[3] for row in expected["30d"])
        assert counted > 0
    engine.dispose()


def _get(base: str, path: str, token: str):
    return requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _reads_back_the_same(base: str, release: dict) -> None:
    tokens = release["tokens"]
    for path, answer in release["answers"].items():
        who, _, path = path.rpartition(":")
        response = _get(base, path, tokens[who or "admin"])
        assert response.status_code == 200, (path, response.text)
        assert same_or_more(answer, response.json()), path
    assert _get(base, "/api/v1/projects", tokens["expired"]).status_code == 401


def _delivers_with_the_secrets_shown_before(base: str, release: dict, receiver) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {release['tokens']['admin']}"
    ok_hook, failing_hook = (int(i) for i in list(release["secrets"])[:2])
    for hook in (ok_hook, failing_hook):  # the release's receivers are gone: point at ours
        assert api.patch(f"{base}/api/v1/webhooks/{hook}",
                         json={"url": receiver.url()}).status_code == 200
    event = {"event": "sprint.completed", "sprintId": 7, "goalId": 774, "initiatorId": None,
             "sprint": {"id": 7, "goalId": 774, "status": "completed"}}
    assert api.post(f"{base}/api/v1/events", json=event).status_code == 202
    failed = api.get(f"{base}/api/v1/webhooks/{failing_hook}/deliveries?status=failed").json()
    before = failed["items"][0]
    assert api.post(f"{base}/api/v1/deliveries/{before['id']}/retry").status_code == 200
    arrived = {r.headers["X-Webhook-Delivery"]: r for r in receiver.wait_for(2)}
    assert str(before["id"]) in arrived
    for delivery_id, request in arrived.items():
        hook = failing_hook if delivery_id == str(before["id"]) else ok_hook
        secret = release["secrets"][str(hook)]
        assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
    after = _wait_final(api, f"{base}/api/v1/deliveries/{before['id']}")
    assert (after["status"], after["attempts"]) == ("success", before["attempts"] + 1)
    assert after["attemptLog"][:-1] == release["answers"][
        f"/api/v1/deliveries/{before['id']}"]["attemptLog"]


def _wait_final(api, url: str) -> dict:
    for _ in range(100):
        delivery = api.get(url).json()
        if delivery["status"] != "pending":
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"{url} stayed pending")
