"""The deliveries list, API and UI, with a million deliveries in the database.

    python -m bench.history [--database sqlite|postgresql] [--deliveries 1000000] [--requests 200]

The deliveries are bulk-inserted (one INSERT … SELECT over a generated series) across four
webhooks, the measured one holding 70% of them; statuses are scattered 90% success, 8%
failed, 2% pending. Then ANALYZE, and each case is requested through the Flask test client
(in-process: the figure is the app's own time, no network; the cases are requested
round-robin): the first page and a page deep in
the history (a cursor 200 rows above the measured webhook's oldest), each with and without
status=failed, from the API (bearer token) and the UI (a signed-in administrator; the whole
page and the htmx fragment). p50/p95 per case; the query plans of the deliveries queries go
to stderr.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

from sqlalchemy import event, func, select

from webhooks import create_app
from webhooks.auth import create_token
from webhooks.clock import utcnow
from webhooks.extensions import db
from webhooks.history import encode_cursor
from webhooks.models import Delivery, User, Webhook

from .common import emit, load_average, scratch_database
from .latency import percentile
from .scratch import analyze, quiet_logs, scratch_app, seed_deliveries

WEBHOOKS = 4
WEIGHTS = [7, 1, 1, 1]  # the measured webhook holds 70% of the rows
MIX = (("success", 90), ("failed", 8), ("pending", 2))
DEEP = 200  # the deep cursor sits this many rows above the oldest (a full page remains)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(url: str, total: int) -> tuple[int, str, dict]:
    """Schema, webhooks, the bulk load and ANALYZE; returns (webhook id, API token, facts)."""
    urls = [f"http://127.0.0.1:9/w{i}" for i in range(WEBHOOKS)]
    with scratch_app(url, urls) as (app, _):
        quiet_logs()
        ids = list(db.session.scalars(select(Webhook.id).order_by(Webhook.id)))
        user = db.session.scalar(select(User))
        _, token = create_token(db.session, user, "history", "webhooks:read", None, None, utcnow())
        db.session.commit()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            events = seed_deliveries(conn, ids, total, weights=WEIGHTS, mix=MIX, step_seconds=1.0)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        analyze(db.engine)
        analyzed = time.perf_counter() - started
        measured, minor = ids[0], ids[1]
        cursors = {}
        for webhook, status in ((measured, None), (measured, "failed"), (minor, "pending")):
            where = [Delivery.webhook_id == webhook]
            where += [Delivery.status == status] if status else []
            count = db.session.scalar(select(func.count()).select_from(Delivery).where(*where))
            cursors[webhook, status] = db.session.scalar(
                select(Delivery.id).where(*where).order_by(Delivery.id)
                .offset(min(DEEP, count // 2)).limit(1))
        rows = db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.webhook_id == measured))
        failed = db.session.scalar(select(func.count()).select_from(Delivery)
                                   .where(Delivery.webhook_id == measured,
                                          Delivery.status == "failed"))
    log(f"loaded {total} deliveries and {events} events in {loaded:.1f} s, "
        f"ANALYZE {analyzed:.1f} s")
    return (measured, minor), token, {"load_s": round(loaded, 1), "analyze_s": round(analyzed, 1),
                             "events": events, "webhook_rows": rows, "webhook_failed_rows": failed,
                             "deep_before": cursors}


def cases(webhooks: tuple[int, int], deep: dict) -> list[tuple[str, str, dict]]:
    """(name, path, headers) for every measured request; headers are completed later.

    Besides the goal's cases on the measured webhook, two API cases on a minor webhook (10% of
    the rows) filtered on its rarest status (pending, 0.2% of all rows) try the index choice.
    """
    measured, minor = webhooks
    out = []
    for webhook, status, suffix, kinds in (
            (measured, None, "", ("api", "ui", "ui_htmx")),
            (measured, "failed", "_failed", ("api", "ui", "ui_htmx")),
            (minor, "pending", "_pending_minor_webhook", ("api",))):
        for depth in ("first", "deep"):
            args = []
            if status:
                args.append(f"status={status}")
            if depth == "deep":
                args.append(f"cursor={encode_cursor(deep[webhook, status])}")
            query = ("?" + "&".join(args)) if args else ""
            for kind in kinds:
                name = f"{kind}_{depth}{suffix}"
                if kind == "api":
                    out.append((name, f"/api/v1/webhooks/{webhook}/deliveries{query}",
                                {"api": True}))
                else:
                    out.append((name, f"/webhooks/{webhook}/deliveries{query}",
                                {"HX-Request": "true"} if kind == "ui_htmx" else {}))
    return out


def sign_in(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/login", data={"email": "bench@example.com",
                                           "password": "bench-password", "csrf_token": token})
    assert response.status_code == 302, response.status_code


def explain(engine, statement: str, parameters) -> str:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(f"  {r[-1]}" for r in rows)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
    return "\n".join(f"  {r[0]}" for r in rows)


def measure(url: str, webhooks: tuple[int, int], token: str, deep: dict,
            requests: int) -> tuple[dict, dict]:
    """p50/p95 per case through the test client, and the deliveries queries seen per case."""
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "WEBHOOKS_ALLOWED_HOSTS": "loopback", "SCHEDULER_ENABLED": False})
    quiet_logs()
    with app.app_context():
        engine = db.engine
    seen: dict[str, list] = {}
    current = {"case": None}

    @event.listens_for(engine, "before_cursor_execute")
    def capture(_conn, _cursor, statement, parameters, _context, _many):
        case = current["case"]
        if case is not None:
            seen.setdefault(case, []).append((statement, parameters))

    client = app.test_client()
    sign_in(client)
    bearer = {"Authorization": f"Bearer {token}"}
    figures = {}
    queries = {}
    plan = []
    for name, path, headers in cases(webhooks, deep):
        headers = bearer if headers.pop("api", False) else headers
        for _ in range(10):  # warm-up: caches, compiled statements, connections
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (name, response.status_code)
        current["case"] = name
        seen.pop(name, None)
        response = client.get(path, headers=headers)
        current["case"] = None
        body = response.get_data(as_text=True)
        items = len(response.json["items"]) if name.startswith("api") else body.count(
            'class="delivery delivery-')
        assert items == 50 or "minor" in name, (name, items)
        queries[name] = [q for q in seen.get(name, []) if "deliveries" in q[0]]
        plan.append((name, path, headers, len(seen.get(name, [])), len(body)))
    # Round-robin over the cases, so a burst of other work on the machine hits them all alike.
    timings: dict[str, list[float]] = {name: [] for name, *_ in plan}
    for _ in range(requests):
        for name, path, headers, _, _ in plan:
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            response.get_data()
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    for name, _, _, count, size in plan:
        values = timings[name]
        figures[name] = {"p50_ms": round(percentile(values, 50), 2),
                         "p95_ms": round(percentile(values, 95), 2),
                         "mean_ms": round(statistics.mean(values), 2), "queries": count}
        log(f"{name:22s} p50 {figures[name]['p50_ms']:7.2f} ms  "
            f"p95 {figures[name]['p95_ms']:7.2f} ms"
            f"  ({count} queries, {size} bytes)")
    log("\nquery plans of the deliveries queries, per case (EXPLAIN QUERY PLAN on SQLite, "
        "EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL):")
    printed: set[str] = set()
    for name, statements in queries.items():
        for statement, parameters in statements:
            text = " ".join(statement.split())
            if text not in printed:
                printed.add(text)
                log(f"\n=== {text}")
            log(f"--- {name} params {parameters}")
            log(explain(engine, statement, parameters))
    engine.dispose()
    return figures, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    quiet_logs()
    load_before = load_average()
    with scratch_database(args.database) as url:
        webhooks, token, facts = load(url, args.deliveries)
        cases_figures, _ = measure(url, webhooks, token, facts.pop("deep_before"), args.requests)
    worst = max(f["p95_ms"] for name, f in cases_figures.items() if "minor" not in name)
    emit("history", {"cases": cases_figures, "worst_p95_ms": worst, "goal_p95_ms": 50,
                     "goal_met": worst <= 50, **facts},
         {"deliveries": args.deliveries, "webhooks": WEBHOOKS, "measured_share": 0.7,
          "status_mix": dict(MIX), "page_size": 50, "requests_per_case": args.requests,
          "deep_rows_above_oldest": DEEP, "client": "flask test client (in-process)",
          "load_average_before": load_before}, url)


if __name__ == "__main__":
    main()
