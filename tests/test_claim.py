"""Claiming: atomic, leased, and only the claim's holder may record the outcome."""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import Future
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webhooks.dbtx import writing
from webhooks.delivery.claim import claim_due
from webhooks.delivery.dispatcher import Dispatcher
from webhooks.delivery.ports import Outcome
from webhooks.delivery.record import Finished, record_outcomes
from webhooks.extensions import db
from webhooks.models import Delivery, DeliveryAttempt

from .helpers import seed_backlog


@pytest.fixture
def factory(app):
    return sessionmaker(bind=db.engine, expire_on_commit=False)


@pytest.fixture
def pending(app, project, clock):
    """Create deliveries: n events to each of `webhooks` webhooks. Returns the delivery ids."""
    def make(n: int, webhooks: int = 1) -> list[int]:
        seed_backlog(app, project, clock, [f"http://127.0.0.1:9/{i}" for i in range(webhooks)], n)
        ids = list(db.session.scalars(select(Delivery.id).order_by(Delivery.id)))
        db.session.rollback()
        return ids

    return make


def test_concurrent_claimers_get_disjoint_deliveries(factory, pending, clock):
    ids = pending(300)
    claimed: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)
    errors = []

    def claimer(slot: int) -> None:
        try:
            with writing(), factory() as session:
                barrier.wait()
                while batch := claim_due(session, clock(), 7, 30):
                    claimed[slot].extend(c.delivery_id for c in batch)
                    time.sleep(0.001)  # let the other claimers in, as sending would
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    everything = [d for batch in claimed for d in batch]
    assert sorted(everything) == ids, "every delivery claimed exactly once"
    assert sum(1 for batch in claimed if batch) >= 2, "the claimers really ran side by side"


def test_claim_holds_a_lease_and_an_expired_lease_is_claimed_again(factory, pending, clock):
    (delivery_id,) = pending(1)
    with factory() as session:
        first = claim_due(session, clock(), 10, 30)
        assert [c.delivery_id for c in first] == [delivery_id]
        assert claim_due(session, clock() + timedelta(seconds=29.9), 10, 30) == []
        second = claim_due(session, clock() + timedelta(seconds=30), 10, 30)
    assert [c.delivery_id for c in second] == [delivery_id]
    assert second[0].token != first[0].token


def test_late_completion_by_a_stale_claimer_is_refused(factory, pending, clock, app):
    (delivery_id,) = pending(1)
    settings = app.config["DELIVERY"]
    with factory() as session:
        (stale,) = claim_due(session, clock(), 10, 30)
        later = clock() + timedelta(seconds=31)
        (fresh,) = claim_due(session, later, 10, 30)
        late = Finished(stale, Outcome(delivery_id, 200, 5), clock())
        assert record_outcomes(session, [late], later, settings) == 0
        on_time = Finished(fresh, Outcome(delivery_id, 500, 5, "HTTP 500"), later)
        assert record_outcomes(session, [on_time], later, settings) == 1
        delivery = session.get(Delivery, delivery_id)
        session.refresh(delivery)
        assert (delivery.status, delivery.attempts, delivery.http_code) == ("pending", 1, 500)
        attempts = session.scalar(select(func.count()).select_from(DeliveryAttempt))
    assert attempts == 1, "the stale result left no trace"


def test_outcome_of_a_deleted_delivery_is_dropped(factory, pending, clock, app):
    (delivery_id,) = pending(1)
    with factory() as session:
        (claimed,) = claim_due(session, clock(), 10, 30)
        session.execute(Delivery.__table__.delete())
        session.commit()
        finished = Finished(claimed, Outcome(delivery_id, 200, 1), clock())
        assert record_outcomes(session, [finished], clock(), app.config["DELIVERY"]) == 0


def test_claim_respects_the_per_webhook_limit(factory, pending, clock):
    pending(10, webhooks=2)
    with factory() as session:
        rows = dict(session.execute(select(Delivery.id, Delivery.webhook_id)).all())
        first_webhook = min(rows.values())
        busy = Counter({first_webhook: 3})
        claimed = claim_due(session, clock(), 20, 30, busy=busy, per_webhook=3)
    assert claimed and all(c.webhook_id != first_webhook for c in claimed)
    assert len(claimed) == 3


def test_claim_takes_nothing_that_is_not_due(factory, pending, clock):
    pending(3)
    with factory() as session:
        assert claim_due(session, clock() - timedelta(seconds=1), 10, 30) == []


class ExplodingSender:
    """A sender whose every attempt raises: the dispatcher must still record a failure."""

    def submit(self, request):
        future = Future()
        future.set_exception(RuntimeError("boom"))
        return future


def test_a_sender_crash_is_recorded_as_a_failed_attempt(factory, pending, clock, app):
    (delivery_id,) = pending(1)
    dispatcher = Dispatcher(factory, ExplodingSender(), app.extensions["secret_box"].decrypt,
                            app.config["DELIVERY"], clock, idle_wait=0.01)
    assert dispatcher.run_until_idle() == 1
    db.session.rollback()  # leave the test's snapshot behind
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "internal sender error" in delivery.last_error
