"""Ingest over HTTP under the Procfile's web line (gunicorn with gunicorn.conf.py as shipped,
scheduler off), beside a bare Flask route under the same settings, in the same run.

    python -m bench.ingest [--database sqlite|postgresql] [--seconds 10] [--clients 16]
                           [--webhooks 1] [--batch 0] [--worker]

Both servers are loaded by `bench.hammer` (an aiohttp client in its own process, keep-alive
connections). `--batch N` posts `POST /api/v1/events/batch` with N events per request.
`--worker` runs a `flask worker` on the same database meanwhile (it delivers to a closed port,
so every attempt fails fast and is retried: the database stays busy).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

from .common import ROOT, emit, scratch_database
from .scratch import scratch_app


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict):
    """gunicorn serving `app` with the shipped gunicorn.conf.py; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--config", "gunicorn.conf.py"], cwd=ROOT,
        env={**env, "PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def hammer(url: str, token: str, args) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.hammer", "--url", url, "--token", token,
         "--clients", str(args.clients), "--seconds", str(args.seconds),
         "--batch", str(args.batch)], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def locked_lines(log_path: str) -> int:
    try:
        with open(log_path) as log:
            return sum("database is locked" in line for line in log)
    except FileNotFoundError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--webhooks", type=int, default=1)
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    with gunicorn("bench.bare_flask:app", env) as base:
        reference = hammer(base + "/api/v1/events", "", args)
    with scratch_database(args.database) as url:
        hooks = [f"http://127.0.0.1:9/w{i}" for i in range(args.webhooks)]
        with scratch_app(url, hooks) as (_, token):
            pass
        env.update(DATABASE_URL=url, SECRET_KEY="bench", SCHEDULER_ENABLED="0",
                   WEBHOOKS_ALLOWED_HOSTS="loopback")
        log = os.path.join(ROOT, "instance", f"bench-worker-{os.getpid()}.log")
        worker = None
        if args.worker:
            os.makedirs(os.path.dirname(log), exist_ok=True)
            worker = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                                      env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            path = "/api/v1/events/batch" if args.batch else "/api/v1/events"
            with gunicorn("app:app", env) as base:
                ours = hammer(base + path, token, args)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
    figures = {"events_per_s": ours["events_per_s"], "p50_ms": ours["p50_ms"],
               "p99_ms": ours["p99_ms"], "errors": ours["errors"],
               "error_codes": ours["error_codes"],
               "reference_per_s": reference["per_s"], "reference_p99_ms": reference["p99_ms"],
               "ratio": round(ours["per_s"] / reference["per_s"], 3)}
    if worker is not None:
        figures["worker_locked_lines"] = locked_lines(log)
        os.remove(log)
    emit("ingest", figures, {"seconds": args.seconds, "clients": args.clients,
                             "webhooks": args.webhooks, "batch": args.batch,
                             "worker": args.worker, "gunicorn": "gunicorn.conf.py as shipped"},
         url)


if __name__ == "__main__":
    main()
