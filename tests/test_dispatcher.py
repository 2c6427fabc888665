"""The dispatcher's slot accounting, with a scripted sender (the wire is tested elsewhere):
a receiver that hangs holds only its own slots, and only until its attempts count as stalled."""
from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webhooks.delivery.dispatcher import Dispatcher
from webhooks.delivery.ports import Outcome, OutgoingRequest
from webhooks.extensions import db
from webhooks.models import Delivery

from .helpers import seed_backlog

HEALTHY, EVENTS = 4, 20


class ScriptedSender:
    """Answers 200 after `answer_after` s, except URLs ending in /hang, which answer only when
    released. Records how many attempts were in flight, per kind, at most."""

    def __init__(self, answer_after: float = 0.05):
        self.answer_after = answer_after
        self.lock = threading.Lock()
        self.in_flight = {"hang": 0, "ok": 0}
        self.most = {"hang": 0, "ok": 0, "all": 0}
        self.hanging: list[tuple[Future, OutgoingRequest]] = []
        self.released = False  # from release() on, the hanging receiver answers too

    def submit(self, request: OutgoingRequest) -> Future:
        future: Future = Future()
        kind = "hang" if request.url.endswith("/hang") else "ok"
        with self.lock:
            hangs = kind == "hang" and not self.released
            self.in_flight[kind] += 1
            self.most[kind] = max(self.most[kind], self.in_flight[kind])
            self.most["all"] = max(self.most["all"], sum(self.in_flight.values()))
            if hangs:
                self.hanging.append((future, request))
                return future
        threading.Timer(self.answer_after, self._answer, (future, request, kind)).start()
        return future

    def _answer(self, future: Future, request: OutgoingRequest, kind: str) -> None:
        with self.lock:
            self.in_flight[kind] -= 1
        future.set_result(Outcome(request.key, 200, int(self.answer_after * 1000)))

    def release(self) -> None:
        with self.lock:
            self.released = True
            hanging, self.hanging = self.hanging, []
        for future, request in hanging:
            self._answer(future, request, "hang")

    def close(self) -> None:
        self.release()


@pytest.fixture
def backlog(app, project, clock):
    """A webhook whose receiver hangs and four that answer; n events for all."""
    def make(n: int) -> None:
        seed_backlog(app, project, clock, [f"http://127.0.0.1:9{path}" for path in
                                           ("/hang", "/ok0", "/ok1", "/ok2", "/ok3")], n)
    return make


def run(app, clock, sender, stall_after: float, concurrency: int = 8) -> Dispatcher:
    settings = dataclasses.replace(app.config["DELIVERY"], concurrency=concurrency)
    dispatcher = Dispatcher(sessionmaker(bind=db.engine, expire_on_commit=False), sender,
                            app.extensions["secret_box"].decrypt, settings, clock,
                            idle_wait=0.02, stall_after=stall_after)
    worker = threading.Thread(target=dispatcher.run_until_idle)
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sender.lock:
            if sender.in_flight["ok"] == 0 and len(sender.hanging) == 2:
                ok_done = _successes(app) == HEALTHY * EVENTS
                if ok_done:
                    break
        time.sleep(0.02)
    sender.release()
    worker.join(30)
    assert not worker.is_alive()
    return dispatcher


def _successes(app) -> int:
    factory = sessionmaker(bind=db.engine)
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.status == "success", Delivery.webhook_id != 1))


def test_a_hanging_receiver_stops_holding_slots_once_its_attempts_stall(app, clock, backlog):
    backlog(EVENTS)
    sender = ScriptedSender()
    run(app, clock, sender, stall_after=0.1)
    # the hanging webhook holds its quarter (2 of 8) ...
    assert sender.most["hang"] == 2
    # ... yet the 4 healthy ones (2 slots each at most) got all 8 once those two had stalled
    assert sender.most["ok"] == 8
    assert sender.most["all"] <= 2 * 8


def test_without_stalling_a_hanging_receiver_keeps_its_slots(app, clock, backlog):
    backlog(EVENTS)
    sender = ScriptedSender()
    run(app, clock, sender, stall_after=3600)
    assert sender.most["hang"] == 2
    assert sender.most["ok"] == 6, "the control: the check above can fail"
