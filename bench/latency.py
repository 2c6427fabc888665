"""Ingest-to-receipt latency: events posted to the ingest API at a steady rate, with the
scheduler running in the same process; latency is from the POST to arrival at the receiver.

    python -m bench.latency [--rate 50] [--seconds 10] [--database sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import statistics
import time

from .common import emit, receiver_process, scratch_database
from .scratch import paced_ingest, scratch_app


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with receiver_process() as (base, stats), scratch_database(args.database) as url, \
            scratch_app(url, [f"{base}/hook"]) as (app, token):
        runner, sent = paced_ingest(app, token, args.rate, args.seconds)
        total = len(sent)
        deadline = time.monotonic() + 30
        while stats()["count"] < total and time.monotonic() < deadline:
            time.sleep(0.1)
        runner.shutdown()
        from sqlalchemy import select

        from webhooks.extensions import db
        from webhooks.models import Delivery
        by_delivery = dict(db.session.execute(select(Delivery.id, Delivery.event_id)).all())
        arrivals = stats()["arrivals"]
    latencies = [(arrivals[str(d)][0] - sent[e]) * 1000 for d, e in by_delivery.items()
                 if str(d) in arrivals]
    emit("latency", {"events": total, "received": len(latencies),
                     "p50_ms": round(percentile(latencies, 50), 2),
                     "p99_ms": round(percentile(latencies, 99), 2),
                     "mean_ms": round(statistics.mean(latencies), 2)},
         {"rate_per_s": args.rate, "seconds": args.seconds,
          "poll_seconds": app.config["WEBHOOKS_POLL_SECONDS"]}, url)


if __name__ == "__main__":
    main()
