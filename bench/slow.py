"""Deliveries per second to 100 webhooks whose receivers answer after 200 ms, for several
WEBHOOKS_SEND_CONCURRENCY values: the curve the default is chosen from.

    python -m bench.slow [--database sqlite|postgresql] [--concurrency 8,16,32,64,128,256]
                         [--delay-ms 200] [--webhooks 100] [--deliveries N]

For each concurrency, a fresh database gets a backlog of pending deliveries spread evenly
over the webhooks (bulk-inserted, one event per webhook round), and one Dispatcher works it
off (run_until_idle) against a receiver process started with --delay-ms. Without
--deliveries, each point gets concurrency × 50 deliveries, at least 1,000 and at most 10,000
(about 10 s of work at the ideal rate, concurrency / delay). The figures per point:
deliveries/s, the ideal rate, their ratio, and the benchmark process's CPU use (1.0 = one
core busy), which shows when the process, not the receivers, is the limit.
"""
from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webhooks.delivery.dispatcher import Dispatcher
from webhooks.extensions import db
from webhooks.models import Delivery, Webhook
from webhooks.scheduler import sender_for

from .common import emit, load_average, receiver_process, scratch_database
from .scratch import analyze, quiet_logs, scratch_app, seed_deliveries


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def point(kind: str, base: str, webhooks: int, concurrency: int, total: int,
          delay_ms: float) -> tuple[dict, str]:
    urls = [f"{base}/w{i}" for i in range(webhooks)]
    with scratch_database(kind) as url, \
            scratch_app(url, urls, WEBHOOKS_SEND_CONCURRENCY=concurrency) as (app, _):
        quiet_logs()
        ids = list(db.session.scalars(select(Webhook.id).order_by(Webhook.id)))
        db.session.commit()
        with db.engine.begin() as conn:
            seed_deliveries(conn, ids, total, per_event=webhooks)
        analyze(db.engine)
        dispatcher = Dispatcher(sessionmaker(bind=db.engine, expire_on_commit=False),
                                sender_for(app), app.extensions["secret_box"].decrypt,
                                app.config["DELIVERY"])
        cpu, started = time.process_time(), time.perf_counter()
        done = dispatcher.run_until_idle()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        failed = db.session.scalar(select(func.count()).select_from(Delivery)
                                   .where(Delivery.status != "success"))
    assert done == total, (done, total)
    rate = done / elapsed
    ideal = concurrency / (delay_ms / 1000) if delay_ms else float("inf")
    return {"concurrency": concurrency, "deliveries": total,
            "deliveries_per_s": round(rate, 1), "ideal_per_s": round(ideal, 1),
            "efficiency": round(rate / ideal, 3), "seconds": round(elapsed, 2),
            "cpu_cores_used": round(cpu / elapsed, 2), "not_success": failed}, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--concurrency", default="8,16,32,64,128,256",
                        help="comma-separated WEBHOOKS_SEND_CONCURRENCY values")
    parser.add_argument("--delay-ms", type=float, default=200)
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=None,
                        help="per point (default: concurrency × 50, from 1,000 to 10,000)")
    args = parser.parse_args()
    quiet_logs()
    load_before = load_average()
    curve = []
    with receiver_process("--delay-ms", str(args.delay_ms)) as (base, _):
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            total = args.deliveries or max(1000, min(10000, concurrency * 50))
            figures, url = point(args.database, base, args.webhooks, concurrency, total,
                                 args.delay_ms)
            curve.append(figures)
            log(f"concurrency {concurrency:4d}: {curve[-1]}")
    best = max(curve, key=lambda p: p["deliveries_per_s"])
    emit("slow", {"curve": curve, "best_concurrency": best["concurrency"],
                  "best_deliveries_per_s": best["deliveries_per_s"]},
         {"webhooks": args.webhooks, "delay_ms": args.delay_ms,
          "deliveries_per_point": args.deliveries or "concurrency × 50, 1,000 to 10,000",
          "load_average_before": load_before}, url)


if __name__ == "__main__":
    main()
