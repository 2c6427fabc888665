"""Figures about the service's state, read from the database (for `flask doctor` and /metrics)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Delivery, DeliveryStatus, Project, Webhook, WebhookState, webhook_state

_deliveries, _webhooks = Delivery.__table__, Webhook.__table__


@dataclass(frozen=True)
class Backlog:
    due: int                      # pending deliveries whose time has come
    oldest_due_seconds: float     # how long the oldest of them has waited (0 if none)


def backlog(session: Session, now: datetime) -> Backlog:
    """Due pending deliveries and the age of the oldest (the partial index answers this)."""
    count, oldest = session.execute(
        select(func.count(), func.min(_deliveries.c.next_attempt_at))
        .where(_deliveries.c.status == DeliveryStatus.PENDING.value,
               _deliveries.c.next_attempt_at <= now)).one()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(count, max(age, 0.0))


def webhook_counts(session: Session) -> dict[str, int]:
    """Webhooks by state: active, off by hand, deactivated by failures."""
    rows = session.execute(select(_webhooks.c.active, _webhooks.c.deactivation_reason,
                                  func.count()).group_by(_webhooks.c.active,
                                                         _webhooks.c.deactivation_reason))
    counts = dict.fromkeys(WebhookState, 0)
    for active, reason, n in rows:
        counts[webhook_state(active, reason)] += n
    return counts


def project_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Project)) or 0
