"""Storing accepted events and their deliveries (SPEC §3). No Flask here.

`store_events` writes many events in one transaction, all or nothing: each event with one
pending delivery per active webhook of its project subscribed to its type, every Idempotency
Key honoured (an item whose key was used for its project in the last 24 hours, or earlier in
the same call, answers the first result and stores nothing).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .events import encode_body
from .models import Delivery, DeliveryStatus, Event, Webhook

IDEMPOTENCY_WINDOW = timedelta(hours=24)
_events, _deliveries, _webhooks = Event.__table__, Delivery.__table__, Webhook.__table__
# Built once: composing statements costs more than running these.
_INSERT_EVENTS, _INSERT_DELIVERIES = insert(_events), insert(_deliveries)
_SUBSCRIBERS = (select(_webhooks.c.id, _webhooks.c.project_id, _webhooks.c.events)
                .where(_webhooks.c.project_id.in_(bindparam("projects", expanding=True)),
                       _webhooks.c.active.is_(True))
                .order_by(_webhooks.c.id))


@dataclass(frozen=True)
class Accepted:
    event_id: str
    deliveries: int
    replayed: bool = False


@dataclass(frozen=True)
class Submission:
    """An event to store: its project, its outgoing body, its Idempotency-Key if any, and
    when it was accepted (default: the `now` of the call that stores it)."""

    project_id: int
    body: dict
    key: str | None = None
    at: datetime | None = None


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex[:28]


def subscribed_webhooks(session: Session, project_id: int, event: str) -> list[int]:
    """Ids of the project's active webhooks subscribed to `event`."""
    return _subscribers(session, {project_id}).get((project_id, event), [])


def store_event(session: Session, project_id: int, body: dict, now: datetime,
                idempotency_key: str | None = None) -> Accepted:
    """Store one event (see `store_events`) and commit."""
    return store_events(session, [Submission(project_id, body, idempotency_key)], now)[0]


def store_events(session: Session, items: list[Submission], now: datetime,
                 commit: bool = True) -> list[Accepted]:
    """Store the events and their deliveries in one transaction; the answers in order.

    A concurrent request that used one of the keys first makes the insert fail: then the
    transaction is rolled back and done again, and that item answers as the first one did.
    """
    for _ in range(3):
        try:
            accepted = _store(session, items, now)
            if commit:
                session.commit()
            return accepted
        except IntegrityError:
            session.rollback()
            if not any(item.key for item in items):
                raise
    raise RuntimeError("Idempotency-Key races did not settle")  # pragma: no cover


def _store(session: Session, items: list[Submission], now: datetime) -> list[Accepted]:
    earlier = _earlier(session, [(i.project_id, i.key) for i in items if i.key], now)
    subscribers = _subscribers(session, {i.project_id for i in items})
    answers: list[Accepted] = []
    events, deliveries = [], []
    for item in items:
        known = earlier.get((item.project_id, item.key)) if item.key else None
        if known is not None:
            answers.append(Accepted(known.event_id, known.deliveries, replayed=True))
            continue
        event_type, event_id, at = item.body["event"], new_event_id(), item.at or now
        webhook_ids = subscribers.get((item.project_id, event_type), [])
        events.append({"id": event_id, "project_id": item.project_id, "type": event_type,
                       "body": encode_body(item.body), "idempotency_key": item.key,
                       "delivery_count": len(webhook_ids), "created_at": at})
        deliveries += [{"webhook_id": w, "event_id": event_id, "event_type": event_type,
                        "status": DeliveryStatus.PENDING, "attempts": 0, "cycle_attempts": 0,
                        "next_attempt_at": at, "created_at": at} for w in webhook_ids]
        answers.append(Accepted(event_id, len(webhook_ids)))
        if item.key:  # a second item with this key in the same call replays this one
            earlier[(item.project_id, item.key)] = answers[-1]
    if events:
        session.execute(_INSERT_EVENTS, events)
    if deliveries:
        session.execute(_INSERT_DELIVERIES, deliveries)
    return answers


def _earlier(session: Session, keys: list[tuple[int, str]],
             now: datetime) -> dict[tuple[int, str], Accepted]:
    """The live first answers for these (project, key) pairs; expired keys are freed."""
    if not keys:
        return {}
    rows = session.execute(select(_events.c.id, _events.c.project_id, _events.c.idempotency_key,
                                  _events.c.delivery_count, _events.c.created_at)
                           .where(tuple_(_events.c.project_id, _events.c.idempotency_key)
                                  .in_(set(keys)))).all()
    found, expired = {}, []
    for row in rows:
        if now - row.created_at < IDEMPOTENCY_WINDOW:
            found[(row.project_id, row.idempotency_key)] = Accepted(row.id, row.delivery_count)
        else:
            expired.append(row.id)
    if expired:  # the key has expired: free it for the new event
        session.execute(update(_events).where(_events.c.id.in_(expired))
                        .values(idempotency_key=None))
    return found


def _subscribers(session: Session, project_ids: set[int]) -> dict[tuple[int, str], list[int]]:
    """(project, event type) -> ids of the active webhooks subscribed to it, in id order."""
    rows = session.execute(_SUBSCRIBERS, {"projects": list(project_ids)})
    found: dict[tuple[int, str], list[int]] = {}
    for webhook_id, project_id, events in rows:
        for event in events.split(","):
            found.setdefault((project_id, event), []).append(webhook_id)
    return found
