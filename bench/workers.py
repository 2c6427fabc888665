"""Deliveries per second from 1 and from 2 `flask worker` processes sharing one database.

    python -m bench.workers [--database postgresql|sqlite] [--deliveries 20000] [--webhooks 10]

Each run seeds the deliveries first, then starts the workers and times them until every
delivery is final. Workers are real processes, with their production settings.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, func, select

from webhooks.clock import utcnow
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.models import Delivery

from .common import ROOT, emit, receiver_process, scratch_database
from .scratch import scratch_app, task_created


def seed(url: str, urls: list[str], deliveries: int) -> int:
    with scratch_app(url, urls) as (app, _):
        events = deliveries // len(urls)
        for task in range(events):
            store_event(db.session, 774, task_created(task), utcnow())
    return events * len(urls)


def run(url: str, processes: int, total: int) -> float:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER_ENABLED": "0",
           "WEBHOOKS_ALLOWED_HOSTS": "loopback", "WEBHOOKS_POLL_SECONDS": "0.2"}
    engine = create_engine(url)
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(processes)]
    first = None  # (time, count) once sending has begun: process start-up is not counted
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(Delivery.__table__)
                                    .where(Delivery.__table__.c.status != "pending")).scalar()
            now = time.perf_counter()
            if first is None and done:
                first = (now, done)
            if done >= total:
                return (total - first[1]) / (now - first[0])
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--webhooks", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("webhooks").setLevel(logging.WARNING)
    figures = {}
    with receiver_process() as (base, _):
        urls = [f"{base}/w{i}" for i in range(args.webhooks)]
        for processes in (1, 2):
            with scratch_database(args.database) as url:
                total = seed(url, urls, args.deliveries)
                figures[f"deliveries_per_s_{processes}_process{'es' if processes > 1 else ''}"] = \
                    round(run(url, processes, total), 1)
    figures["ratio_2_to_1"] = round(figures["deliveries_per_s_2_processes"]
                                    / figures["deliveries_per_s_1_process"], 3)
    emit("workers", figures, {"deliveries": total, "webhooks": args.webhooks,
                              "concurrency_per_process": 32}, url)


if __name__ == "__main__":
    main()
