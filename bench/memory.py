"""Peak memory of a `flask worker` process delivering 100,000 deliveries.

    python -m bench.memory [--database sqlite|postgresql] [--deliveries 100000] [--webhooks 10]
                           [--workers 1] [--concurrency N] [--metrics]

The deliveries are bulk-inserted, all pending and due, spread over the webhooks (one event per
10 deliveries); then a real `flask worker` subprocess (DATABASE_URL, the seeding app's
SECRET_KEY, WEBHOOKS_ALLOWED_HOSTS=loopback) sends them to the fast local receiver. Its RSS
(VmRSS in /proc/<pid>/status) and the pending count are sampled every 0.5 s; the figures are
the peak (sampled, and the kernel's high-water mark VmHWM), the RSS at 10/50/90% progress,
the duration and deliveries per second. With --workers 2 (or more) the same backlog is
shared by several worker processes: that is the multi-process throughput figure (RSS figures
are then the largest worker's).

With --metrics, a web process (the Procfile's gunicorn line, scheduler off, on the same
database) is started too, and `GET /metrics` is scraped at every sample: the figures then
show the attempts counter moving with the work, and whether its final value matches the
database.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import requests
from sqlalchemy import create_engine, select, text

from webhooks.extensions import db
from webhooks.models import Webhook

from .common import ROOT, emit, load_average, receiver_process, scratch_database
from .scratch import analyze, quiet_logs, scratch_app, seed_deliveries

SECRET_KEY = "bench"  # scratch_app's key: the worker must decrypt the webhooks' secrets
METRICS_TOKEN = "bench-metrics"
SUCCESS = 'webhooks_delivery_attempts_total{outcome="success"}'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out[name] = int(value.split()[0])
    return out


def seed(url: str, urls: list[str], total: int) -> None:
    with scratch_app(url, urls) as (app, _):
        quiet_logs()
        ids = list(db.session.scalars(select(Webhook.id).order_by(Webhook.id)))
        db.session.commit()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            seed_deliveries(conn, ids, total, step_seconds=0.001)
        analyze(db.engine)
    log(f"seeded {total} pending deliveries in {time.perf_counter() - started:.1f} s")


def worker_env(url: str, concurrency: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOKS_", "FLASK_"))}
    env.update({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "WEBHOOKS_ALLOWED_HOSTS": "loopback",
                "SCHEDULER_ENABLED": "0", "PYTHONUNBUFFERED": "1"})
    if concurrency:
        env["WEBHOOKS_SEND_CONCURRENCY"] = str(concurrency)
    return env


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(url: str) -> tuple[subprocess.Popen, str]:
    """The Procfile's web process on the same database, serving /metrics; (process, base)."""
    port = free_port()
    env = worker_env(url, None)
    env.update({"PORT": str(port), "WEBHOOKS_METRICS_TOKEN": METRICS_TOKEN,
                "WEB_CONCURRENCY": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:app", "--config",
                             "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the web process did not start")


def scrape(base: str) -> float:
    """The success counter from /metrics."""
    response = requests.get(base + "/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    response.raise_for_status()
    for line in response.text.splitlines():
        if line.startswith(SUCCESS + " "):
            return float(line.rsplit(" ", 1)[1])
    raise RuntimeError("no success counter in /metrics")


def run_workers(url: str, total: int, workers: int, concurrency: int | None, interval: float,
                timeout: float, metrics: bool = False) -> dict:
    """Start the worker(s), sample until nothing is pending, stop them; return the figures.

    With several workers, the RSS figures are the largest worker's at each sample.
    """
    counter = create_engine(url)
    pending_sql = text("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS kB, done)
    scraped: list[tuple[int, float]] = []  # (done, the /metrics success counter)
    web, base = start_web(url) if metrics else (None, "")
    hwm = [0] * workers
    logs = [tempfile.NamedTemporaryFile("w+", prefix="bench-worker-", suffix=".log")
            for _ in range(workers)]
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                              env=worker_env(url, concurrency), stdout=handle,
                              stderr=subprocess.STDOUT) for handle in logs]
    first_done = done_at = None
    try:
        while True:
            time.sleep(interval)
            for proc, handle in zip(procs, logs):
                if proc.poll() is not None:
                    handle.seek(0)
                    raise RuntimeError(f"a worker exited with {proc.returncode}:\n"
                                       + handle.read()[-3000:])
            statuses = [proc_status(proc.pid) for proc in procs]
            hwm = [max(h, st.get("VmHWM", 0)) for h, st in zip(hwm, statuses)]
            rss = max(st.get("VmRSS", 0) for st in statuses)
            with counter.connect() as conn:
                done = total - conn.execute(pending_sql).scalar_one()
            now = time.monotonic() - started
            samples.append((now, rss, done))
            if web is not None:
                scraped.append((done, scrape(base)))
            if done and first_done is None:
                first_done = now
            if len(samples) % 20 == 0:
                log(f"{now:6.1f} s  done {done:7d}  RSS {rss / 1024:6.1f} MB")
            if done >= total:
                done_at = now
                break
            if now > timeout:
                raise RuntimeError(f"only {done} of {total} delivered after {timeout} s")
        hwm = [max(h, proc_status(proc.pid).get("VmHWM", 0)) for h, proc in zip(hwm, procs)]
        if web is not None:
            time.sleep(interval)  # the last turn's counters commit with its outcomes
            scraped.append((total, scrape(base)))
    finally:
        for proc in procs + ([web] if web is not None else []):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in logs:
            handle.close()
    with counter.connect() as conn:
        outcomes = dict(conn.execute(text(
            "SELECT status, count(*) FROM deliveries GROUP BY status")).all())
    counter.dispose()

    def at(share: float) -> float:
        for _, rss, done in samples:
            if done >= share * total:
                return round(rss / 1024, 1)
        return -1.0

    peak = max(rss for _, rss, _ in samples)
    at10, at90 = at(0.10), at(0.90)
    figures = {"peak_rss_mb": round(peak / 1024, 1), "peak_rss_hwm_mb": round(max(hwm) / 1024, 1),
               "rss_mb_at_start": round(samples[0][1] / 1024, 1),
               "rss_mb_at_10pct": at10, "rss_mb_at_50pct": at(0.50), "rss_mb_at_90pct": at90,
               "rss_growth_10_to_90_mb": round(at90 - at10, 1),
               "duration_s": round(done_at, 1), "startup_s": round(first_done or 0, 1),
               "deliveries_per_s": round(total / max(done_at - (first_done or 0), 1e-9), 1),
               "outcomes": outcomes, "samples": len(samples),
               "goal_peak_mb": 200, "goal_met": max(peak, *hwm) / 1024 <= 200}
    if workers > 1:
        figures["peak_rss_hwm_mb_per_worker"] = [round(h / 1024, 1) for h in hwm]
    if scraped:
        values = [value for _, value in scraped]
        figures["metrics"] = {
            "success_counter_at_10_50_90_100pct": [
                next(v for d, v in scraped if d >= share * total) for share in (.1, .5, .9, 1)],
            "scrapes": len(scraped), "never_decreased": values == sorted(values),
            "final_matches_database": values[-1] == outcomes.get("success", 0)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--webhooks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the backlog (throughput with several)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="WEBHOOKS_SEND_CONCURRENCY for the worker (default: the app's)")
    parser.add_argument("--metrics", action="store_true",
                        help="also run a web process and scrape /metrics at every sample")
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    quiet_logs()
    load_before = load_average()
    with receiver_process() as (base, _), scratch_database(args.database) as url:
        seed(url, [f"{base}/w{i}" for i in range(args.webhooks)], args.deliveries)
        figures = run_workers(url, args.deliveries, args.workers, args.concurrency,
                              args.interval, args.timeout, args.metrics)
    emit("memory", figures,
         {"deliveries": args.deliveries, "webhooks": args.webhooks, "workers": args.workers,
          "send_concurrency": args.concurrency or "default",
          "sample_interval_s": args.interval, "metrics_scraped": args.metrics,
          "process": "flask worker (subprocess)", "load_average_before": load_before}, url)


if __name__ == "__main__":
    main()
