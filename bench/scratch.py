"""A scratch app for benchmarks: a fresh database with a project, webhooks and a token."""
from __future__ import annotations

from contextlib import contextmanager

from webhooks import create_app
from webhooks.auth import create_token, create_user
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.manage import create_webhook
from webhooks.models import Base, Project

PROJECT = 774


@contextmanager
def scratch_app(database_url: str, urls: list[str], **config):
    """Yield (app, token) with one project whose webhooks point at `urls` (all events)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": database_url,
                      "WEBHOOKS_ALLOWED_HOSTS": "loopback", **config})
    quiet_logs()  # in-process benchmarks leave the per-attempt INFO line off the terminal
    with app.app_context():
        Base.metadata.create_all(db.engine)
        now = utcnow()
        user = create_user(db.session, "bench@example.com", "bench-password", True, now)
        project = Project(id=PROJECT, name="bench", created_at=now, updated_at=now)
        db.session.add(project)
        for url in urls:
            create_webhook(db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"),
                           project, url, ["task.created"], now)
        _, token = create_token(db.session, user, "bench", "events:write", None, None, now)
        db.session.commit()
        try:
            yield app, token
        finally:
            db.session.remove()
            sender = app.extensions.get("webhooks_sender")
            if sender is not None:
                sender.close()
            db.engine.dispose()


def paced_ingest(app, token: str, rate: float, seconds: float):
    """Start the app's scheduler as a web process would, then POST task.created events at
    `rate` per second for `seconds`; returns (runner, {eventId: time.time() when sent})."""
    import time

    from webhooks.scheduler import Runner

    runner = Runner(app)
    app.extensions["webhooks_scheduler"] = runner
    runner.start()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        pause = begin + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        at = time.time()
        response = client.post("/api/v1/events", headers=headers, json=task_created(i))
        sent[response.json["eventId"]] = at
    return runner, sent


def task_created(task_id: int) -> dict:
    return {"event": "task.created", "timestamp": "2026-03-22T12:00:00.000Z",
            "task": {"id": task_id, "goalId": PROJECT, "description": "benchmark task"},
            "initiatorId": 1}


# --- Bulk seeding (shared by bench.history, bench.memory, bench.hanging, bench.slow) ---------

def quiet_logs() -> None:
    """Keep the app's per-delivery INFO lines off stderr (call after create_app too: the
    factory sets the "webhooks" logger to INFO)."""
    import logging

    for name in ("webhooks", "webhooks.delivery", "webhooks.scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: already running"


def seed_deliveries(connection, webhook_ids: list[int], total: int, *,
                    weights: list[int] | None = None,
                    mix: tuple[tuple[str, int], ...] = (("pending", 100),),
                    per_event: int = 10, start=None, step_seconds: float = 0.001,
                    tag: str | None = None) -> int:
    """Insert `total` deliveries in one INSERT … SELECT over a generated series (a recursive
    CTE on SQLite, generate_series on PostgreSQL), and the events they point at.

    Row n goes to webhook_ids[i] by `weights` (integers, one per webhook; default equal) on
    n modulo their sum, and gets a status from `mix` ((status, percent), ...) by a
    multiplicative (Knuth) hash of n, so statuses are scattered. One event serves `per_event`
    consecutive deliveries. created_at is `start` + n * step_seconds (ids follow time);
    a pending row is due at its created_at; success/failed rows are completed.
    `connection` is a SQLAlchemy Connection or Session; the caller commits. Returns the
    number of events inserted.
    """
    import json
    import uuid
    from datetime import timedelta

    from sqlalchemy import text

    weights = weights or [1] * len(webhook_ids)
    assert len(weights) == len(webhook_ids) and sum(mix_p for _, mix_p in mix) == 100
    start = start or (utcnow() - timedelta(seconds=total * step_seconds))
    tag = tag or uuid.uuid4().hex[:8]
    dialect = connection.bind.dialect.name if hasattr(connection, "bind") and connection.bind \
        else connection.dialect.name
    events = (total + per_event - 1) // per_event
    if dialect == "sqlite":  # the text form SQLAlchemy stores, without the fraction
        start = start.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")

    def ts(seconds_sql: str) -> str:
        if dialect == "sqlite":
            return (f"(strftime('%Y-%m-%d %H:%M:%f', :start, '+' || ({seconds_sql}) || ' seconds')"
                    " || '000')")
        return f"(CAST(:start AS timestamp) + ({seconds_sql}) * interval '1 second')"

    def source(limit: str) -> tuple[str, str]:
        """(prefix, FROM item) giving n = 1..limit."""
        if dialect == "sqlite":
            return (f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
                    f"WHERE n < {limit}) ", "seq")
        return "", f"generate_series(CAST(1 AS bigint), {limit}) AS seq(n)"

    prefix, seq = source(":events")
    connection.execute(text(
        f"{prefix}INSERT INTO events (id, project_id, type, body, idempotency_key, "
        f"delivery_count, created_at) SELECT 'evt_{tag}_' || (n - 1), {PROJECT}, "
        f"'task.created', :body, NULL, {per_event}, "
        f"{ts(f'(n - 1) * {per_event * step_seconds:.6f}')} "
        f"FROM {seq}"), {"events": events, "start": start,
                         "body": json.dumps(task_created(1), separators=(",", ":"))})

    cases, upto = [], 0
    for webhook_id, weight in zip(webhook_ids, weights):
        upto += weight
        cases.append(f"WHEN n % {sum(weights)} < {upto} THEN {int(webhook_id)}")
    webhook_sql = f"CASE {' '.join(cases)} END"
    statuses, upto = [], 0
    for status, percent in mix:
        upto += percent
        statuses.append(
            f"WHEN (n * 2654435761) % 4294967296 / 65536 % 100 < {upto} THEN '{status}'")
    status_sql = f"CASE {' '.join(statuses)} END"
    created = ts(f"n * {step_seconds:.6f}")
    prefix, seq = source(":total")
    connection.execute(text(
        f"{prefix}INSERT INTO deliveries (webhook_id, event_id, event_type, status, attempts, "
        "cycle_attempts, http_code, duration_ms, last_error, next_attempt_at, claim_token, "
        "created_at, completed_at) "
        "SELECT w, e, 'task.created', st, "
        "CASE st WHEN 'pending' THEN 0 WHEN 'success' THEN 1 ELSE 3 END, "
        "CASE st WHEN 'pending' THEN 0 WHEN 'success' THEN 1 ELSE 3 END, "
        "CASE st WHEN 'pending' THEN NULL WHEN 'success' THEN 200 ELSE 500 END, "
        "CASE st WHEN 'pending' THEN NULL ELSE n % 250 END, "
        "CASE st WHEN 'failed' THEN 'HTTP 500' END, "
        "CASE st WHEN 'pending' THEN c END, NULL, c, "
        "CASE st WHEN 'pending' THEN NULL ELSE c END "
        f"FROM (SELECT n, {webhook_sql} AS w, 'evt_{tag}_' || ((n - 1) / {per_event}) AS e, "
        f"{status_sql} AS st, {created} AS c FROM {seq}) AS g ORDER BY n"),
        {"total": total, "start": start})
    return events


def analyze(engine) -> None:
    """Refresh the planner's statistics after a bulk load (ANALYZE on both databases)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
