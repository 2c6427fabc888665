"""Storing an accepted event and its deliveries in one transaction (SPEC §3)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .events import encode_body
from .models import Delivery, DeliveryStatus, Event, Webhook

IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Accepted:
    event_id: str
    deliveries: int
    replayed: bool = False


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex[:28]


def subscribed_webhooks(session: Session, project_id: int, event: str) -> list[int]:
    """Ids of the project's active webhooks subscribed to `event`."""
    rows = session.execute(select(Webhook.id, Webhook.events)
                           .where(Webhook.project_id == project_id, Webhook.active.is_(True))
                           .order_by(Webhook.id))
    return [webhook_id for webhook_id, events in rows if event in events.split(",")]


def store_event(session: Session, project_id: int, body: dict, now: datetime,
                idempotency_key: str | None = None) -> Accepted:
    """Store the event and one pending delivery per subscribed webhook, then commit.

    With an idempotency key already used for this project in the last 24 hours, the first
    answer is returned and nothing is stored.
    """
    if idempotency_key is not None:
        earlier = _earlier(session, project_id, idempotency_key, now)
        if earlier is not None:
            return earlier
    try:
        accepted = _insert(session, project_id, body, now, idempotency_key)
        session.commit()
        return accepted
    except IntegrityError:
        session.rollback()
        if idempotency_key is None:
            raise
        # A concurrent request with the same key won the race: answer as it did.
        earlier = _earlier(session, project_id, idempotency_key, now)
        session.rollback()
        if earlier is None:
            raise
        return earlier


def _earlier(session: Session, project_id: int, key: str, now: datetime) -> Accepted | None:
    row = session.execute(select(Event.id, Event.delivery_count, Event.created_at)
                          .where(Event.project_id == project_id,
                                 Event.idempotency_key == key)).first()
    if row is None:
        return None
    if now - row.created_at < IDEMPOTENCY_WINDOW:
        return Accepted(row.id, row.delivery_count, replayed=True)
    # The key has expired: free it for this new event.
    session.execute(update(Event).where(Event.id == row.id).values(idempotency_key=None))
    return None


def _insert(session: Session, project_id: int, body: dict, now: datetime,
            idempotency_key: str | None) -> Accepted:
    event_type = body["event"]
    webhook_ids = subscribed_webhooks(session, project_id, event_type)
    event_id = new_event_id()
    session.execute(insert(Event.__table__).values(
        id=event_id, project_id=project_id, type=event_type, body=encode_body(body),
        idempotency_key=idempotency_key, delivery_count=len(webhook_ids), created_at=now))
    if webhook_ids:
        session.execute(insert(Delivery.__table__), [
            {"webhook_id": w, "event_id": event_id, "event_type": event_type,
             "status": DeliveryStatus.PENDING, "attempts": 0, "cycle_attempts": 0,
             "next_attempt_at": now, "created_at": now}
            for w in webhook_ids])
    return Accepted(event_id, len(webhook_ids))
