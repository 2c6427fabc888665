"""Deliveries per second from one process to a fast local receiver, beside a bare
`requests` sender with the same thread count and no database.

    python -m bench.throughput [--database sqlite|postgresql] [--deliveries 5000] [--webhooks 10]
                               [--concurrency N] [--delay-ms 200] [--no-bare]

`--concurrency` (WEBHOOKS_SEND_CONCURRENCY, the attempts in
flight) defaults to 32, the setting's default.
`--delay-ms` makes the receiver answer after that long (slow receivers); `--no-bare` skips the
bare `requests` figure.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy.orm import sessionmaker

from webhooks.clock import utcnow
from webhooks.config import SEND_CONCURRENCY
from webhooks.delivery.dispatcher import Dispatcher
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.scheduler import sender_for

from .common import ROOT, emit, receiver_process, scratch_database
from .scratch import scratch_app, task_created


def bare_requests(urls: list[str], total: int, threads: int) -> float:
    """Posts per second of a plain thread pool of requests sessions (no database)."""
    body = json.dumps(task_created(1)).encode()
    local = threading.local()

    def post(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        session.post(urls[i % len(urls)], data=body, timeout=10,
                     headers={"Content-Type": "application/json"}).close()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(total)))
    return total / (time.perf_counter() - started)


def service(database_url: str, urls: list[str], total: int, concurrency: int) -> float:
    """Deliveries per second through claim, sign, send and record."""
    with scratch_app(database_url, urls, WEBHOOKS_SEND_CONCURRENCY=concurrency) as (app, _):
        events = total // len(urls)
        for task in range(events):
            store_event(db.session, 774, task_created(task), utcnow())
        dispatcher = Dispatcher(sessionmaker(bind=db.engine, expire_on_commit=False),
                                sender_for(app), app.extensions["secret_box"].decrypt,
                                app.config["DELIVERY"])
        started = time.perf_counter()
        done = dispatcher.run_until_idle()
        elapsed = time.perf_counter() - started
    assert done == events * len(urls), (done, events * len(urls))
    return done / elapsed


def bare_aiohttp(urls: list[str], total: int, in_flight: int) -> float:
    """Posts per second of the bare aiohttp + uvloop reference, in its own process."""
    out = subprocess.run([sys.executable, "-m", "bench.bare_sender", "--urls", ",".join(urls),
                          "--total", str(total), "--in-flight", str(in_flight)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["posts_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--webhooks", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="attempts in flight (default: the setting's default)")
    parser.add_argument("--delay-ms", type=float, default=0, help="the receivers' answer time")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare references")
    args = parser.parse_args()
    concurrency = args.concurrency or SEND_CONCURRENCY
    receiver_args = ("--delay-ms", str(args.delay_ms)) if args.delay_ms else ()
    with receiver_process(*receiver_args) as (base, stats), \
            scratch_database(args.database) as url:
        urls = [f"{base}/w{i}" for i in range(args.webhooks)]
        figures = {"deliveries_per_s": round(service(url, urls, args.deliveries, concurrency), 1)}
        if not args.no_bare:
            in_flight = min(concurrency, max(1, concurrency // 4) * args.webhooks)
            aio = bare_aiohttp(urls, args.deliveries, in_flight)
            req = bare_requests(urls, args.deliveries, min(concurrency, 64))
            figures.update(bare_aiohttp_per_s=round(aio, 1), bare_requests_per_s=round(req, 1),
                           ratio_aiohttp=round(figures["deliveries_per_s"] / aio, 3),
                           ratio=round(figures["deliveries_per_s"] / req, 3))
        emit("throughput", figures,
             {"deliveries": args.deliveries, "webhooks": args.webhooks,
              "concurrency": concurrency, "delay_ms": args.delay_ms}, url)


if __name__ == "__main__":
    main()
