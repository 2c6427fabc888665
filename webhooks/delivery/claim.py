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

from ..events import TEST_EVENT
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
    standard_webhooks: bool = False
    example: bool = False  # a "Send example" of the event catalogue (X-Webhook-Example)

    @property
    def one_off(self) -> bool:
        """A test or example send: made once, at once; never retried, never counted."""
        return self.example or self.event_type == TEST_EVENT


def new_token() -> str:
    return uuid.uuid4().hex


_deliveries, _webhooks, _events = Delivery.__table__, Webhook.__table__, Event.__table__
_DETAILS = (  # labelled with Claimed's field names
    select(_deliveries.c.id.label("delivery_id"), _deliveries.c.webhook_id,
           _deliveries.c.event_type, _deliveries.c.cycle_attempts, _webhooks.c.url,
           _webhooks.c.secret_encrypted, _webhooks.c.active, _events.c.body,
           _webhooks.c.standard_webhooks, _deliveries.c.example)
    .join(_webhooks, _webhooks.c.id == _deliveries.c.webhook_id)
    .join(_events, _events.c.id == _deliveries.c.event_id)
)


def claim_due(session: Session, now: datetime, limit: int, lease: float,
              busy: Counter | None = None, per_webhook: int | None = None,
              commit: bool = True) -> list[Claimed]:
    """Claim up to `limit` due deliveries and commit (unless told not to).

    `busy` counts the deliveries already in flight per webhook; no webhook gets more than
    `per_webhook` in flight, so one slow receiver cannot take every sending slot.
    """
    if limit <= 0:
        return []
    busy = busy or Counter()
    saturated = [w for w, n in busy.items() if per_webhook and n >= per_webhook]
    due = (select(_deliveries.c.id, _deliveries.c.webhook_id)
           .where(_deliveries.c.status == DeliveryStatus.PENDING.value,
                  _deliveries.c.next_attempt_at <= now)
           .order_by(_deliveries.c.next_attempt_at)
           .limit(limit * 4 if per_webhook else limit)
           .with_for_update(skip_locked=True))
    if saturated:
        due = due.where(_deliveries.c.webhook_id.not_in(saturated))
    picked = _pick(session.execute(due).all(), limit, busy, per_webhook)
    claimed: list[Claimed] = []
    if picked:
        token = new_token()
        session.execute(update(_deliveries).where(_deliveries.c.id.in_(picked))
                        .values(next_attempt_at=now + timedelta(seconds=lease),
                                claim_token=token))
        rows = session.execute(_DETAILS.where(_deliveries.c.id.in_(picked))
                               .order_by(_deliveries.c.id)).all()
        claimed = [Claimed(token=token, **row._mapping) for row in rows]
    if commit:
        session.commit()
    return claimed


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
