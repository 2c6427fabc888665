"""Shared pieces of the benchmarks: a receiver process, a scratch app, the machine."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

import requests
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def receiver_process(*args: str):
    """Start bench.receiver in its own process; yield (base_url, stats function)."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.receiver", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"

        def stats() -> dict:
            return requests.get(base + "/stats", timeout=30).json()

        yield base, stats
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


@contextmanager
def scratch_database(kind: str):
    """A fresh, empty database URL: a temp SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"webhooks_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def machine(database_url: str = "") -> dict:
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "database": database_url.split(":", 1)[0] if database_url else None}


def emit(name: str, figures: dict, settings: dict, database_url: str = "") -> None:
    print(json.dumps({"benchmark": name, "figures": figures, "settings": settings,
                      "machine": machine(database_url), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                          time.gmtime())}))


def load_average() -> float:
    """The 1-minute load average now: other work on the machine skews every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0
