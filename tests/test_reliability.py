"""Reliability with real processes: a worker killed mid-send, several workers on one
PostgreSQL database, and SQLite under concurrent ingest. Nothing may be lost; live processes
never make the same attempt twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import func, select

from bench.common import receiver_process
from webhooks import create_app
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.manage import create_webhook
from webhooks.models import Delivery, DeliveryAttempt, Project

from .conftest import PG_URL
from .processes import ROOT, Process, flask_env, free_port, wait_http
from .processes import setup_tenant_in_process as setup_tenant

pytestmark = pytest.mark.slow
LOAD_SECONDS = float(os.environ.get("WEBHOOKS_LOAD_SECONDS", "30"))
SECRET_KEY = "process-test-key"  # the key flask_env gives the processes


@contextmanager
def database(url: str):
    """An app context on the processes' database, to seed it and to check it."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def seed(url: str, receiver: str, webhooks: int, events: int) -> int:
    """Webhooks on the receiver for project 774, and `events` task.created events."""
    with database(url) as app:
        project = db.session.get(Project, 774)
        for i in range(webhooks):
            create_webhook(db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"),
                           project, f"{receiver}/w{i}", ["task.created"], utcnow())
        db.session.commit()
        for task in range(events):
            store_event(db.session, 774, {"event": "task.created",
                                          "timestamp": "2026-03-22T12:00:00.000Z",
                                          "task": {"id": task, "goalId": 774},
                                          "initiatorId": None}, utcnow())
    return webhooks * events


def statuses(url: str) -> Counter:
    with database(url):
        return Counter(dict(db.session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)).all()))


def attempts_per_delivery(url: str) -> Counter:
    with database(url):
        return Counter(dict(db.session.execute(
            select(DeliveryAttempt.delivery_id, func.count())
            .group_by(DeliveryAttempt.delivery_id)).all()))


def wait_until(check, timeout: float, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def test_a_worker_killed_mid_send_loses_nothing(empty_database, tmp_path):
    env = flask_env(empty_database, SCHEDULER_ENABLED="0", WEBHOOKS_TIMEOUT_SECONDS="3",
                    WEBHOOKS_LEASE_SECONDS="8", WEBHOOKS_SEND_CONCURRENCY="32")
    setup_tenant(empty_database)
    with receiver_process("--delay-ms", "700") as (base, stats):
        total = seed(empty_database, base, webhooks=8, events=40)
        first = Process(env, tmp_path / "worker1.log", "worker")
        try:
            got_going = wait_until(lambda: stats()["count"] >= 60, 30)
        finally:  # killed whatever happens: no worker may outlive the test
            first.popen.send_signal(signal.SIGKILL)
            first.popen.wait(10)
            first.stop()
        assert got_going, "the first worker got going"
        at_kill = stats()["count"]
        second = Process(env, tmp_path / "worker2.log", "worker")
        try:
            done = wait_until(lambda: statuses(empty_database)["success"] == total, 90)
        finally:
            code, log = second.stop(signal.SIGTERM)
        assert done, (statuses(empty_database), log[-2000:])
        arrivals = stats()["arrivals"]
    assert code == 0
    assert len(arrivals) == total, "every delivery reached the receiver"
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    assert duplicates <= 32, "only what was in flight at the kill is sent again"
    assert at_kill < total, "the kill really happened mid-run"
    print(f"\ncrash: {total} deliveries, SIGKILL after {at_kill} requests, "
          f"{duplicates} sent twice, 0 lost")


@pytest.mark.parametrize("empty_database", ["postgresql"], indirect=True)
def test_three_workers_on_postgresql_never_repeat_an_attempt(empty_database, tmp_path):
    env = flask_env(empty_database, SCHEDULER_ENABLED="0")
    setup_tenant(empty_database)
    with receiver_process() as (base, stats):
        total = seed(empty_database, base, webhooks=10, events=300)
        workers = [Process(env, tmp_path / f"worker{i}.log", "worker") for i in range(3)]
        try:
            done = wait_until(lambda: statuses(empty_database)["success"] == total, 120)
        finally:
            codes = [w.stop(signal.SIGTERM)[0] for w in workers]
        arrivals = stats()["arrivals"]
        logs = [w.log.read_text() for w in workers]
    assert done, statuses(empty_database)
    assert codes == [0, 0, 0]
    assert len(arrivals) == total
    repeated = {d: len(t) for d, t in arrivals.items() if len(t) > 1}
    assert repeated == {}, "no delivery id reached the receiver twice"
    per_delivery = attempts_per_delivery(empty_database)
    assert set(per_delivery.values()) == {1}, "the attempt log agrees: one attempt each"
    busy = [log.count("code=200") for log in logs]
    assert sum(1 for n in busy if n) >= 2, f"the work was shared: {busy}"
    print(f"\nthree workers: {total} deliveries split {busy}, 0 repeated, 0 lost")


@pytest.mark.parametrize("empty_database", ["sqlite"], indirect=True)
def test_sqlite_under_concurrent_ingest_never_answers_locked(empty_database, tmp_path):
    env = flask_env(empty_database, SCHEDULER_ENABLED="0")
    token = setup_tenant(empty_database)
    with receiver_process() as (base, stats):
        seed(empty_database, base, webhooks=3, events=0)
        port = free_port()
        web = Process(env, tmp_path / "web.log", "run", "--port", str(port), "--with-threads")
        worker = Process(env, tmp_path / "worker.log", "worker")
        results: Counter = Counter()
        accepted: list[str] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            session = requests.Session()
            for i in range(40):
                response = session.post(
                    f"http://127.0.0.1:{port}/api/v1/events",
                    headers={"Authorization": f"Bearer {token}"}, timeout=60,
                    json={"event": "task.created", "task": {"id": n * 1000 + i, "goalId": 774}})
                with lock:
                    results[response.status_code] += 1
                    if response.status_code == 202:
                        accepted.append(response.json()["eventId"])

        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            done = wait_until(lambda: statuses(empty_database)["success"] == 3 * 320, 60)
        finally:
            web.stop()
            _, worker_log = worker.stop(signal.SIGTERM)
        web_log = web.log.read_text()
    assert results == Counter({202: 320}), results
    assert done, statuses(empty_database)
    assert "database is locked" not in web_log + worker_log
    print(f"\nsqlite: 8 clients x 40 events, answers {dict(results)}, 960 delivered")


def terminate_connections(database_url: str) -> int:
    """Kill every server connection to the database but our own (a PostgreSQL blip)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = make_url(database_url).database
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).scalar()
    engine.dispose()
    return killed


@pytest.mark.parametrize("empty_database", ["postgresql"], indirect=True)
def test_postgresql_connections_killed_mid_run_lose_nothing(empty_database, tmp_path):
    env = flask_env(empty_database, SCHEDULER_ENABLED="0")
    token = setup_tenant(empty_database)
    with receiver_process() as (base, stats):
        seed(empty_database, base, webhooks=2, events=0)
        port = free_port()
        web = Process(env, tmp_path / "web.log", "run", "--port", str(port), "--with-threads")
        workers = [Process(env, tmp_path / f"worker{i}.log", "worker") for i in range(2)]
        results: Counter = Counter()
        accepted: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int) -> None:
            session = requests.Session()
            i = 0
            while not stop.is_set():
                i += 1
                key = f"{n}-{i}"
                for _ in range(5):  # a client retries a 5xx with the same Idempotency-Key
                    response = session.post(
                        f"http://127.0.0.1:{port}/api/v1/events", timeout=60,
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                        json={"event": "task.created", "task": {"id": i, "goalId": 774}})
                    with lock:
                        results[response.status_code] += 1
                    if response.status_code < 500:
                        break
                    time.sleep(0.2)
                if response.status_code == 202:
                    with lock:
                        accepted.append(response.json()["eventId"])

        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            time.sleep(2)
            killed = terminate_connections(empty_database)
            time.sleep(2)
            killed += terminate_connections(empty_database)
            time.sleep(2)
            stop.set()
            for t in threads:
                t.join(60)
            expected = 2 * len(set(accepted))
            done = wait_until(lambda: statuses(empty_database)["success"] == expected, 60)
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
        finally:
            web.stop()
            codes = [w.stop(signal.SIGTERM)[0] for w in workers]
        arrivals = stats()["arrivals"]
    assert killed >= 2, "the blip really cut connections"
    assert done, (statuses(empty_database), expected)
    assert health == 200
    assert codes == [0, 0]
    assert len(arrivals) == expected, "every accepted event was delivered"
    assert results[202] >= len(set(accepted)) > 0
    assert set(results) <= {202, 503}, f"a blip is a 503 to retry, never a 500: {results}"
    print(f"\nblip: {killed} connections killed, answers {dict(results)}, "
          f"{len(arrivals)} delivered, 0 lost")


def gunicorn(env: dict, log, port: int) -> subprocess.Popen:
    """The Procfile's web line (gunicorn.conf.py: 2 workers with 8 threads), on our port."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app:app", "--config", "gunicorn.conf.py"],
        cwd=ROOT, env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2",
                       "GUNICORN_ACCESS_LOG": ""},
        stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("seconds", [LOAD_SECONDS])
def test_load_from_8_clients_single_and_batch_under_gunicorn_gets_no_5xx_and_loses_nothing(
        empty_database, tmp_path, seconds):
    if empty_database.startswith("postgresql"):
        seconds = min(seconds, 20)  # SQLite (one writer) is the hard case; PostgreSQL shorter
    env = flask_env(empty_database, SCHEDULER_ENABLED="0")
    token = setup_tenant(empty_database)
    with receiver_process() as (base, stats):
        seed(empty_database, base, webhooks=2, events=0)
        port = free_port()
        with open(tmp_path / "web.log", "w") as log:
            web = gunicorn(env, log, port)
            worker = Process(env, tmp_path / "worker.log", "worker")
            results: Counter = Counter()
            accepted: list[str] = []
            lock = threading.Lock()
            stop = threading.Event()

            def client(n: int) -> None:
                # Paced (~15 requests/s each, 8 at once): the point is concurrency for a
                # minute, not the top rate (bench/ measures that), and CI shares 2 cores.
                # Odd clients send batches of 5 (POST /api/v1/events/batch), even ones single
                # events, so both paths meet the same worker and the same write lock.
                session = requests.Session()
                i = 0
                while not stop.wait(0.066):
                    i += 1
                    events = [{"event": "task.created", "task": {"id": n * 10**6 + i * 10 + k,
                                                                 "goalId": 774}}
                              for k in range(5 if n % 2 else 1)]
                    batch = n % 2 == 1
                    response = session.post(
                        f"http://127.0.0.1:{port}/api/v1/events" + ("/batch" if batch else ""),
                        timeout=60, headers={"Authorization": f"Bearer {token}"},
                        json={"events": events} if batch else events[0])
                    with lock:
                        results[response.status_code] += 1
                        if response.status_code == 202:
                            answer = response.json()
                            accepted.extend([item["eventId"] for item in answer["items"]]
                                            if batch else [answer["eventId"]])

            try:
                wait_http(f"http://127.0.0.1:{port}/healthz")
                threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
                for t in threads:
                    t.start()
                time.sleep(seconds)
                stop.set()
                for t in threads:
                    t.join(60)
                expected = 2 * len(accepted)
                done = wait_until(lambda: statuses(empty_database)["success"] == expected, 120)
            finally:
                web.send_signal(signal.SIGTERM)
                web.wait(30)
                _, worker_log = worker.stop(signal.SIGTERM)
        arrivals = stats()["arrivals"]
    rate = len(accepted) / seconds
    assert set(results) == {202} and sum(results.values()) < len(accepted), results
    assert len(accepted) == len(set(accepted)) > 0
    assert done, (statuses(empty_database), expected)
    assert len(arrivals) == expected, "every accepted event reached every webhook"
    assert "database is locked" not in (tmp_path / "web.log").read_text() + worker_log
    print(f"\nload: {len(accepted)} events in {seconds} s ({rate:.0f}/s), "
          f"{expected} deliveries, no error")
