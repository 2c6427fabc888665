"""Retention: deliveries finished long ago are deleted, in small batches."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from ..models import Delivery, DeliveryStatus, Event

BATCH = 2000


def prune(session: Session, now: datetime, older_than: timedelta) -> tuple[int, int]:
    """Delete final deliveries completed before `now - older_than`, then their orphaned events.

    Returns (deliveries, events) deleted. Each batch is its own short transaction.
    """
    cutoff = now - older_than
    deliveries = _batched(session, select(Delivery.id).where(
        Delivery.status != DeliveryStatus.PENDING, Delivery.completed_at < cutoff), Delivery)
    orphan = ~exists().where(Delivery.event_id == Event.id)
    events = _batched(session, select(Event.id).where(Event.created_at < cutoff, orphan), Event)
    return deliveries, events


def _batched(session: Session, ids_query, model) -> int:
    total = 0
    while True:
        ids = list(session.scalars(ids_query.limit(BATCH)))
        if ids:
            session.execute(delete(model).where(model.id.in_(ids)))
        session.commit()
        total += len(ids)
        if len(ids) < BATCH:
            return total
