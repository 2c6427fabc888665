"""The trend charts' queries (issue 13) with a million deliveries in the database.

    python -m bench.trends [--database sqlite|postgresql] [--deliveries 1000000] [--requests 200]

One webhook gets `--deliveries` deliveries spread evenly over the last 30 days (bulk-inserted
by bench.scratch.seed_deliveries: 90% success, 8% failed, 2% pending) with their attempt logs
(one attempt per success and pending delivery, three per failure: about 1.16 attempts a
delivery, durations from 20 ms to 10 s); two more webhooks of the project get 1% as many
each. The rows are loaded at the schema revision before 0007, then `flask db upgrade` (in this
process) to 0007 adds the rollups and fills them from the rows: its time is reported. Then
ANALYZE, and each case, round-robin, `--requests` times: a webhook's trends (both windows,
one read), the project's trends, each webhook's last 24 hours (the overview's table), and
the two pages through the Flask test client (the deliveries page, with its first page of
history, and that history alone as htmx asks for it; the project overview). p50/p95 per
case; the goal is p95 ≤ 100 ms for the queries.
Reference, same run: the webhook's 30 d figures computed from the raw rows instead of the
rollup (counts per hour of final deliveries, and a latency histogram per hour of attempts).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta

import flask_migrate
from alembic.script import ScriptDirectory
from sqlalchemy import text

from webhooks import create_app
from webhooks.auth import create_user
from webhooks.clock import utcnow
from webhooks.extensions import db
from webhooks.latency import EDGES
from webhooks.models import Project, Webhook
from webhooks.trends import last_24_hours_by_webhook, project_trends, webhook_trends

from .common import ROOT, emit, load_average, scratch_database
from .history import sign_in
from .latency import percentile
from .scratch import PROJECT, analyze, quiet_logs, seed_deliveries

MIX = (("success", 90), ("failed", 8), ("pending", 2))
MINOR_SHARE = 0.01
# One attempt per delivery, and two more (10 s apart) per failed one. Durations from a
# multiplicative hash of the id and attempt: 80% 20-219 ms, 18% 200-2,199 ms, 2% 5-10 s.
ATTEMPTS_SQL = """
INSERT INTO delivery_attempts (delivery_id, attempted_at, http_code, duration_ms, error)
SELECT id, at, code, CASE WHEN h % 100 < 80 THEN 20 + h % 200
                          WHEN h % 100 < 98 THEN 200 + h % 2000 ELSE 5000 + h % 5000 END, err
FROM (SELECT d.id, {at} AS at, CASE d.status WHEN 'success' THEN 200 ELSE 500 END AS code,
             CASE d.status WHEN 'success' THEN NULL ELSE 'HTTP 500' END AS err,
             ((d.id * 3 + k.n) * 2654435761) % 4294967296 / 256 AS h
      FROM deliveries d JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) AS k
        ON k.n = 0 OR d.status = 'failed'
      WHERE d.webhook_id IN ({webhooks})) AS a
ORDER BY id
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def app_for(url: str):
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "WEBHOOKS_ALLOWED_HOSTS": "loopback", "SCHEDULER_ENABLED": False})
    quiet_logs()
    return app


def load(url: str, total: int) -> tuple[list[int], dict]:
    """The schema before 0007, the rows, then the upgrade that fills the rollup."""
    app = app_for(url)
    previous = ScriptDirectory(f"{ROOT}/migrations").get_revision("0007").down_revision
    with app.app_context():
        flask_migrate.upgrade(revision=previous)
        ids, now = _webhooks(), utcnow()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            _seed(conn, ids, total, now)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        flask_migrate.upgrade(revision="0007")
        upgraded = time.perf_counter() - started
        flask_migrate.upgrade()  # later revisions, not timed
        create_user(db.session, "bench@example.com", "bench-password", True, utcnow())
        db.session.commit()
        analyze(db.engine)
        facts = _facts(ids)
        db.session.remove()
        db.engine.dispose()
    log(f"loaded {facts['deliveries']} deliveries and {facts['attempts']} attempts in "
        f"{loaded:.1f} s; the upgrade filled {facts['rollup_rows']} rollup rows in "
        f"{upgraded:.1f} s")
    return ids, {"load_s": round(loaded, 1), "upgrade_s": round(upgraded, 1), **facts}


def _webhooks() -> list[int]:
    """Project 774 and three webhooks, as rows (the models are a revision ahead)."""
    now = utcnow()
    db.session.execute(Project.__table__.insert().values(id=PROJECT, name="bench",
                                                         created_at=now, updated_at=now))
    for n in range(3):
        db.session.execute(Webhook.__table__.insert().values(
            id=n + 1, project_id=PROJECT, url=f"http://127.0.0.1:9/w{n}", events="task.created",
            secret_encrypted="x", active=True, standard_webhooks=False, consecutive_failures=0,
            created_at=now, updated_at=now))
    db.session.commit()
    return [1, 2, 3]


def _seed(conn, ids: list[int], total: int, now) -> None:
    step = 30 * 86400 / total
    start = now - timedelta(days=30)
    seed_deliveries(conn, [ids[0]], total, mix=MIX, start=start, step_seconds=step)
    minor = max(1, int(total * MINOR_SHARE))
    for webhook_id in ids[1:]:
        seed_deliveries(conn, [webhook_id], minor, mix=MIX, start=start,
                        step_seconds=30 * 86400 / minor)
    at = ("strftime('%Y-%m-%d %H:%M:%f', d.created_at, '+' || (k.n * 10) || ' seconds') || '000'"
          if conn.dialect.name == "sqlite" else "d.created_at + k.n * interval '10 seconds'")
    conn.execute(text(ATTEMPTS_SQL.format(at=at, webhooks=", ".join(map(str, ids)))))


def _facts(ids: list[int]) -> dict:
    def count(sql: str) -> int:
        return db.session.scalar(text(sql))

    return {"deliveries": count("SELECT count(*) FROM deliveries"),
            "measured_webhook_deliveries": count(
                f"SELECT count(*) FROM deliveries WHERE webhook_id = {ids[0]}"),
            "attempts": count("SELECT count(*) FROM delivery_attempts"),
            "rollup_rows": count("SELECT count(*) FROM delivery_hours")}


def raw_sql(dialect: str) -> list[str]:
    """The webhook's 30 d figures from the raw rows: what a chart would cost without the
    rollup (final deliveries per hour, and a latency histogram per hour)."""
    def hour(column: str) -> str:
        if dialect == "sqlite":
            return f"strftime('%Y-%m-%d %H', {column})"
        return f"date_trunc('hour', {column})"

    bucket = "CASE " + " ".join(f"WHEN a.duration_ms < {EDGES[i + 1]} THEN {i}"
                                for i in range(len(EDGES) - 1)) + f" ELSE {len(EDGES) - 1} END"
    return [f"SELECT {hour('completed_at')}, status, count(*) FROM deliveries "
            "WHERE webhook_id = :w AND completed_at >= :since AND status IN ('success', 'failed') "
            "GROUP BY 1, 2",
            f"SELECT {hour('a.attempted_at')}, {bucket}, count(*) FROM delivery_attempts a "
            "JOIN deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = :w "
            "AND a.attempted_at >= :since GROUP BY 1, 2"]


def measure(url: str, ids: list[int], requests: int, raw_requests: int) -> dict:
    """p50/p95 per case, round-robin; the raw-rows reference `raw_requests` times."""
    app = app_for(url)
    client = app.test_client()
    with app.app_context():
        sign_in(client)
        session = db.session
        cases = {
            "webhook_trends": lambda: webhook_trends(session, ids[0], utcnow()),
            "project_trends": lambda: project_trends(session, PROJECT, utcnow()),
            "webhooks_last_24h": lambda: last_24_hours_by_webhook(session, PROJECT, utcnow()),
            "deliveries_page": lambda: _get(client, f"/webhooks/{ids[0]}/deliveries"),
            # the same page's history alone (the htmx answer to a filter): the difference is
            # what the charts add to the page
            "history_fragment": lambda: _get(client, f"/webhooks/{ids[0]}/deliveries?status=",
                                             {"HX-Request": "true"}),
            "overview_page": lambda: _get(client, f"/projects/{PROJECT}/overview"),
        }
        for case in cases.values():  # warm-up: compiled statements, connections, templates
            for _ in range(5):
                case()
                session.rollback()
        timings = _round_robin(cases, session, requests)
        statements = raw_sql(db.engine.dialect.name)
        since = utcnow() - timedelta(days=30)

        def raw() -> None:
            for statement in statements:
                session.execute(text(statement), {"w": ids[0], "since": since}).all()

        raw_timings = _round_robin({"raw": raw}, session, raw_requests)["raw"]
        db.engine.dispose()
    figures = {name: _summary(values) for name, values in timings.items()}
    for name, f in figures.items():
        log(f"{name:18s} p50 {f['p50_ms']:8.2f} ms  p95 {f['p95_ms']:8.2f} ms")
    reference = _summary(raw_timings)
    log(f"{'raw rows (ref.)':18s} p50 {reference['p50_ms']:8.2f} ms  "
        f"p95 {reference['p95_ms']:8.2f} ms")
    return {"cases": figures, "raw_rows_reference": reference}


def _get(client, path: str, headers: dict | None = None) -> None:
    response = client.get(path, headers=headers or {})
    response.get_data()
    assert response.status_code == 200, (path, response.status_code)


def _round_robin(cases: dict, session, requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(requests):
        for name, case in cases.items():
            started = time.perf_counter()
            case()
            timings[name].append((time.perf_counter() - started) * 1000)
            session.rollback()  # a fresh transaction, as each request has
    return timings


def _summary(values: list[float]) -> dict:
    return {"p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2),
            "mean_ms": round(statistics.mean(values), 2), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--raw-requests", type=int, default=5)
    args = parser.parse_args()
    quiet_logs()
    load_before = load_average()
    with scratch_database(args.database) as url:
        ids, facts = load(url, args.deliveries)
        figures = measure(url, ids, args.requests, args.raw_requests)
    queries = ("webhook_trends", "project_trends", "webhooks_last_24h")
    worst = max(figures["cases"][name]["p95_ms"] for name in queries)
    raw = figures["raw_rows_reference"]["p50_ms"]
    emit("trends", {**figures, "worst_query_p95_ms": worst, "goal_p95_ms": 100,
                    "goal_met": worst <= 100,
                    "raw_over_rollup": round(raw / figures["cases"]["webhook_trends"]["p50_ms"],
                                             1), **facts},
         {"deliveries": args.deliveries, "minor_webhooks": 2, "minor_share": MINOR_SHARE,
          "span_days": 30, "status_mix": dict(MIX), "requests_per_case": args.requests,
          "raw_requests": args.raw_requests, "client": "flask test client (in-process)",
          "load_average_before": load_before}, url)


if __name__ == "__main__":
    main()
