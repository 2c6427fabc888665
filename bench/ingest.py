"""Ingest over HTTP under gunicorn (the Procfile's web line, scheduler off): events per second
from concurrent clients, and the latency of the 202.

    python -m bench.ingest [--database sqlite|postgresql] [--seconds 15] [--clients 16]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

import requests

from .common import ROOT, emit, scratch_database
from .latency import percentile
from .scratch import scratch_app, task_created


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        # Two webhooks, so each event also writes its deliveries.
        with scratch_app(url, ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]) as (_, token):
            pass
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench",
               "SCHEDULER_ENABLED": "0", "WEBHOOKS_ALLOWED_HOSTS": "loopback"}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", str(args.threads),
             "--no-control-socket", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    requests.get(base + "/healthz", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            latencies: list[float] = []
            errors: list[int] = []
            lock = threading.Lock()
            stop = threading.Event()

            def client(n: int) -> None:
                session = requests.Session()
                headers = {"Authorization": f"Bearer {token}"}
                i = 0
                while not stop.is_set():
                    i += 1
                    began = time.perf_counter()
                    response = session.post(base + "/api/v1/events", headers=headers,
                                            json=task_created(n * 10**7 + i), timeout=30)
                    took = (time.perf_counter() - began) * 1000
                    with lock:
                        (latencies.append(took) if response.status_code == 202
                         else errors.append(response.status_code))

            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(args.seconds)
            stop.set()
            for t in threads:
                t.join(60)
            elapsed = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    emit("ingest", {"events_per_s": round(len(latencies) / elapsed, 1),
                    "accepted": len(latencies), "errors": len(errors),
                    "p50_ms": round(percentile(latencies, 50), 2),
                    "p99_ms": round(percentile(latencies, 99), 2),
                    "mean_ms": round(statistics.mean(latencies), 2)},
         {"seconds": args.seconds, "clients": args.clients, "gunicorn_workers": args.workers,
          "gunicorn_threads": args.threads, "webhooks_per_event": 2}, url)


if __name__ == "__main__":
    main()
