"""One endpoint hanging until the timeout beside 9 healthy ones, against the same 9 alone.

    python -m bench.hanging [--database sqlite|postgresql] [--timeout 10] [--events 1000]
                            [--rate 20] [--seconds 20] [--repeat 5]
                            [--concurrency N]

Ten webhooks on one receiver process; the tenth's URL is on the receiver's hang path (it
answers after 60 s, so every attempt runs into WEBHOOKS_TIMEOUT_SECONDS). The hanging webhook
is kept active for the whole run (WEBHOOKS_MAX_CONSECUTIVE_FAILURES very high), the worst
case. Each variant (with and without the hanging webhook) runs two phases, each on a fresh
database:

  capacity: `--events` events (one delivery per webhook each) pre-seeded, a Dispatcher run
            from a thread; the 9 healthy webhooks' deliveries/s is their count over the time
            from the start to the last healthy arrival at the receiver.
  latency:  events posted to the ingest API at `--rate`/s for `--seconds` with the Runner
            (scheduler) in the same process, as in bench.latency; p50/p99 from the POST to
            arrival, for the healthy webhooks' deliveries only.

Ratios: healthy throughput without / with the hanging endpoint, and p99 with / without
(goal ≤ 1.2 each). The variants are alternated `--repeat` times (default 5) and each figure is
the median, since other work on a small machine easily moves one run's p99.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webhooks.delivery.dispatcher import Dispatcher
from webhooks.extensions import db
from webhooks.models import Delivery, Webhook
from webhooks.scheduler import sender_for

from .common import emit, load_average, receiver_process, scratch_database
from .latency import percentile
from .scratch import analyze, paced_ingest, quiet_logs, scratch_app, seed_deliveries

HEALTHY = 9
NEVER_DEACTIVATE = 1_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def urls_for(base: str, hanging: bool) -> list[str]:
    urls = [f"{base}/w{i}" for i in range(HEALTHY)]
    return urls + [f"{base}/hang/w{HEALTHY}"] if hanging else urls


def config(args) -> dict:
    extra = {}
    if args.concurrency:
        extra["WEBHOOKS_SEND_CONCURRENCY"] = args.concurrency
    return {"WEBHOOKS_TIMEOUT_SECONDS": args.timeout,
            "WEBHOOKS_MAX_CONSECUTIVE_FAILURES": NEVER_DEACTIVATE, **extra}


def healthy_ids() -> set[int]:
    return set(db.session.scalars(select(Webhook.id).where(~Webhook.url.contains("/hang/"))))


def capacity(kind: str, hanging: bool, args) -> dict:
    """Healthy deliveries/s working through a pre-seeded backlog."""
    with receiver_process("--hang-path", "/hang/") as (base, stats), \
            scratch_database(kind) as url, \
            scratch_app(url, urls_for(base, hanging), **config(args)) as (app, _):
        args.url = url
        args.effective = {"send_concurrency": app.config["DELIVERY"].concurrency}
        quiet_logs()
        ids = list(db.session.scalars(select(Webhook.id).order_by(Webhook.id)))
        healthy = healthy_ids()
        db.session.commit()
        with db.engine.begin() as conn:
            seed_deliveries(conn, ids, args.events * len(ids), per_event=len(ids))
        analyze(db.engine)
        wanted = set(db.session.scalars(select(Delivery.id)
                                        .where(Delivery.webhook_id.in_(healthy))))
        db.session.commit()
        dispatcher = Dispatcher(sessionmaker(bind=db.engine, expire_on_commit=False),
                                sender_for(app), app.extensions["secret_box"].decrypt,
                                app.config["DELIVERY"])
        started = time.time()
        thread = threading.Thread(target=dispatcher.run_until_idle, daemon=True)
        thread.start()
        deadline = time.monotonic() + 600
        done_sql = (select(func.count()).select_from(Delivery)
                    .where(Delivery.webhook_id.in_(healthy), Delivery.status != "pending"))
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if db.session.scalar(done_sql) >= len(wanted):
                break
            db.session.commit()
        db.session.commit()
        arrivals = stats()["arrivals"]
        dispatcher.stopping.set()
        dispatcher.nudge()
        thread.join(args.timeout + 30)
    times = [arrivals[str(d)][0] for d in wanted if str(d) in arrivals]
    assert len(times) == len(wanted), (len(times), len(wanted))
    elapsed = max(times) - started
    return {"healthy_deliveries": len(wanted), "healthy_per_s": round(len(wanted) / elapsed, 1),
            "seconds": round(elapsed, 2)}


def latency(kind: str, hanging: bool, args) -> dict:
    """Healthy deliveries' latency (POST to arrival) under a steady ingest."""
    with receiver_process("--hang-path", "/hang/") as (base, stats), \
            scratch_database(kind) as url, \
            scratch_app(url, urls_for(base, hanging), **config(args)) as (app, token):
        quiet_logs()
        healthy = healthy_ids()
        db.session.commit()
        runner, sent = paced_ingest(app, token, args.rate, args.seconds)
        wanted = dict(db.session.execute(select(Delivery.id, Delivery.event_id)
                                         .where(Delivery.webhook_id.in_(healthy))).all())
        db.session.commit()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            arrivals = stats()["arrivals"]
            if all(str(d) in arrivals for d in wanted):
                break
            time.sleep(0.5)
        runner.shutdown()
    latencies = [(arrivals[str(d)][0] - sent[e]) * 1000 for d, e in wanted.items()
                 if str(d) in arrivals]
    first, last = min(sent.values()), max(arrivals[str(d)][0] for d in wanted
                                          if str(d) in arrivals)
    return {"healthy_deliveries": len(wanted), "received": len(latencies),
            "healthy_per_s": round(len(latencies) / (last - first), 1),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "mean_ms": round(statistics.mean(latencies), 1)}


def median_run(items: list[dict]) -> dict:
    """Each figure's median over the repetitions."""
    def median(values: list) -> float | int:
        middle = statistics.median(values)
        return int(middle) if middle == int(middle) and isinstance(values[0], int) \
            else round(middle, 1)

    return {phase: {key: median([r[phase][key] for r in items]) for key in items[0][phase]}
            for phase in items[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--timeout", type=float, default=10,
                        help="WEBHOOKS_TIMEOUT_SECONDS (default: the app's default, 10)")
    parser.add_argument("--events", type=int, default=1000,
                        help="capacity phase: events pre-seeded (one delivery per webhook)")
    parser.add_argument("--rate", type=float, default=20, help="latency phase: events/s")
    parser.add_argument("--seconds", type=float, default=20, help="latency phase: duration")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each variant, alternated; the figures are medians")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="WEBHOOKS_SEND_CONCURRENCY (default: the app's)")
    args = parser.parse_args()
    quiet_logs()
    load_before = load_average()
    runs: dict[str, list[dict]] = {"with_hanging": [], "without_hanging": []}
    order = (("with_hanging", True), ("without_hanging", False))
    for repetition in range(args.repeat):
        # in pairs, run back to back, each pair in the other order: this machine's speed
        # drifts by a third over minutes, so only a pair's two runs are compared
        for name, hanging in (order if repetition % 2 == 0 else order[::-1]):
            run = {"capacity": capacity(args.database, hanging, args),
                   "latency": latency(args.database, hanging, args)}
            runs[name].append(run)
            log(f"{name} #{repetition + 1}: {run}")
    results = {name: median_run(items) for name, items in runs.items()}

    def paired(phase: str, key: str, calm_over_hang: bool) -> float:
        """The median over the pairs of each pair's ratio (how much worse with the hang)."""
        ratios = [(c[phase][key] / h[phase][key]) if calm_over_hang
                  else (h[phase][key] / c[phase][key])
                  for h, c in zip(runs["with_hanging"], runs["without_hanging"])]
        return round(statistics.median(ratios), 3)

    ratios = {
        "capacity_throughput": paired("capacity", "healthy_per_s", True),
        "latency_throughput": paired("latency", "healthy_per_s", True),
        "p99": paired("latency", "p99_ms", False),
    }
    for name, items in runs.items():
        results[name]["each_run"] = {
            "capacity_healthy_per_s": [r["capacity"]["healthy_per_s"] for r in items],
            "latency_p99_ms": [r["latency"]["p99_ms"] for r in items]}
    emit("hanging", {**results, "ratios": ratios, "goal_ratio": 1.2,
                     "goal_met": all(r <= 1.2 for r in ratios.values())},
         {"timeout_s": args.timeout, "healthy_webhooks": HEALTHY, "hanging_webhooks": 1,
          "hang": "receiver answers after 60 s", "max_consecutive_failures": NEVER_DEACTIVATE,
          "capacity_events": args.events, "rate_per_s": args.rate, "seconds": args.seconds,
          "repeat": args.repeat, "figures_are": "medians over the repetitions",
          "ratios_are": "medians of the ratios within each back-to-back pair",
          **args.effective, "load_average_before": load_before}, args.url)


if __name__ == "__main__":
    main()
