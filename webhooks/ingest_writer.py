"""Group commit for ingest: one writer per process (SPEC §3 unchanged).

Request threads hand their validated event to the writer and wait; the writer stores every
event waiting at that moment in one transaction (`ingest.store_events`), then answers each
request. Under load a transaction carries many events, so requests no longer queue one by one
on the database's write lock (on SQLite, the busy handler sleeps a waiting writer in growing
steps), and on PostgreSQL one commit serves them all. No waiting to fill a group: a lone event
is written at once. Each request still answers 202 only once its own event is committed, with
its deliveries, in one transaction; one item that cannot be stored fails alone. No Flask here.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from .dbtx import writing
from .ingest import Accepted, Submission, store_events

log = logging.getLogger("webhooks.ingest")
MAX_GROUP = 500
IDLE_SECONDS = 30  # an idle writer thread ends; the next event starts another


class IngestWriter:
    """Stores submitted events in groups, from a thread of its own."""

    def __init__(self, session_factory: Callable[[], Session]):
        self.session_factory = session_factory
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def store(self, items: list[Submission], now: datetime) -> list[Accepted]:
        """Store these events (all or nothing) with the others waiting now; their answers
        once they are committed."""
        done: Future = Future()
        with self._lock:
            self._queue.put((items, now, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ingest-writer",
                                                daemon=True)
                self._thread.start()
        return done.result()

    def _run(self) -> None:
        while True:
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            while sum(len(items) for items, _, _ in group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list) -> None:
        try:
            answers = self._store([(items, now) for items, now, _ in group])
        except (OperationalError, InterfaceError) as exc:  # the database: every request 503s
            for _, _, done in group:
                done.set_exception(exc)
            return
        except Exception:  # one request's events cannot be stored: fail only that request
            log.warning("a group of %d requests failed; storing them one by one", len(group),
                        exc_info=True)
            for items, now, done in group:
                try:
                    done.set_result(self._store([(items, now)]))
                except Exception as exc:  # noqa: BLE001 - that request answers it
                    done.set_exception(exc)
            return
        start = 0
        for items, _, done in group:
            done.set_result(answers[start:start + len(items)])
            start += len(items)

    def _store(self, requests: list[tuple[list[Submission], datetime]]) -> list[Accepted]:
        """Every request's events in one transaction, each stamped with its request's time."""
        stamped = [Submission(i.project_id, i.body, i.key, i.at or now)
                   for items, now in requests for i in items]
        with writing(), self.session_factory() as session:
            return store_events(session, stamped, requests[0][1])
