"""Claiming due deliveries: one short transaction, committed before anything is sent.

A claim moves `next_attempt_at` to the end of the lease and stamps a `claim_token`. If the
claimer dies, the delivery simply comes due again when the lease ends; if it lives, only the
holder of the token may write the outcome.
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Delivery, DeliveryStatus, Event, Webhook


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery with what sending it needs, read at send time."""

    delivery_id: int
    token: str
    webhook_id: int
    event_type: str
    cycle_attempts: int
    url: str
    secret_encrypted: str
    active: bool
    body: str


def new_token() -> str:
    return uuid.uuid4().hex


def claim_due(session: Session, now: datetime, limit: int, lease: float,
              busy: Counter | None = None, per_webhook: int | None = None) -> list[Claimed]:
    """Claim up to `limit` due deliveries and commit.

    `busy` counts the deliveries already in flight per webhook; no webhook gets more than
    `per_webhook` in flight, so one slow receiver cannot take every sending slot.
    """
    if limit <= 0:
        return []
    busy = busy or Counter()
    saturated = [w for w, n in busy.items() if per_webhook and n >= per_webhook]
    due = (select(Delivery.id, Delivery.webhook_id)
           .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
           .order_by(Delivery.next_attempt_at)
           .limit(limit * 4 if per_webhook else limit)
           .with_for_update(skip_locked=True))
    if saturated:
        due = due.where(Delivery.webhook_id.not_in(saturated))
    picked = _pick(session.execute(due).all(), limit, busy, per_webhook)
    if not picked:
        session.commit()
        return []
    token = new_token()
    table = Delivery.__table__
    session.execute(update(table).where(table.c.id.in_(picked))
                    .values(next_attempt_at=now + timedelta(seconds=lease), claim_token=token))
    rows = session.execute(
        select(Delivery.id, Delivery.webhook_id, Delivery.event_type, Delivery.cycle_attempts,
               Webhook.url, Webhook.secret_encrypted, Webhook.active, Event.body)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .join(Event, Event.id == Delivery.event_id)
        .where(Delivery.id.in_(picked))
        .order_by(Delivery.id)).all()
    session.commit()
    return [Claimed(r[0], token, *r[1:]) for r in rows]


def _pick(rows, limit: int, busy: Counter, per_webhook: int | None) -> list[int]:
    taken: list[int] = []
    counts = Counter(busy)
    for delivery_id, webhook_id in rows:
        if per_webhook and counts[webhook_id] >= per_webhook:
            continue
        counts[webhook_id] += 1
        taken.append(delivery_id)
        if len(taken) >= limit:
            break
    return taken
