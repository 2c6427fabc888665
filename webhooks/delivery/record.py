"""Recording outcomes: one transaction per batch, every write guarded by the claim token."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..config import DeliverySettings
from ..events import TEST_EVENT
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Webhook
from .claim import Claimed
from .policy import apply_outcomes, next_attempt
from .sender import Outcome

INACTIVE = "webhook inactive"


@dataclass(frozen=True, slots=True)
class Finished:
    """An attempt that has ended (or was never made, for an inactive webhook)."""

    claimed: Claimed
    outcome: Outcome
    attempted_at: datetime

    @property
    def skipped(self) -> bool:
        return self.outcome.error == INACTIVE and self.outcome.http_code is None


_deliveries = Delivery.__table__
_webhooks = Webhook.__table__
_UPDATE_DELIVERY = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), attempts=_deliveries.c.attempts + 1,
            cycle_attempts=_deliveries.c.cycle_attempts + 1, http_code=bindparam("b_code"),
            duration_ms=bindparam("b_duration"), last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"), completed_at=bindparam("b_done"),
            claim_token=None)
)
_UPDATE_COUNTER = (
    update(_webhooks).where(_webhooks.c.id == bindparam("b_id"))
    .values(consecutive_failures=bindparam("b_failures"))
)
_DEACTIVATE = (
    update(_webhooks).where(_webhooks.c.id == bindparam("b_id"), _webhooks.c.active.is_(True))
    .values(active=False, deactivated_at=bindparam("b_at"), deactivation_reason=bindparam("b_reason"))
)


def record_outcomes(session: Session, finished: list[Finished], now: datetime,
                    settings: DeliverySettings) -> int:
    """Write attempts, delivery states and webhook counters; commit. Returns rows written.

    A delivery whose claim token no longer matches (its lease ran out and someone else
    claimed it, or it was deleted) is left alone: that late result is dropped.
    """
    if not finished:
        return 0
    counted = sorted({f.claimed.webhook_id for f in finished if _counts(f)})
    webhooks = {}
    if counted:  # lock webhooks before deliveries, in id order, as deletes do
        webhooks = {row.id: row for row in session.execute(
            select(Webhook.id, Webhook.consecutive_failures, Webhook.active)
            .where(Webhook.id.in_(counted)).order_by(Webhook.id).with_for_update())}
    tokens = {f.claimed.delivery_id: f.claimed.token for f in finished}
    owned = {row[0] for row in session.execute(
        select(Delivery.id, Delivery.claim_token).where(Delivery.id.in_(list(tokens)))
        .order_by(Delivery.id).with_for_update()) if tokens[row[0]] == row[1]}
    mine = [(f, _plan(f, now, settings)) for f in finished if f.claimed.delivery_id in owned]
    if not mine:
        session.commit()
        return 0
    session.execute(_UPDATE_DELIVERY, [_delivery_values(f, plan, now) for f, plan in mine])
    session.execute(insert(DeliveryAttempt.__table__), [_attempt_values(f) for f, _ in mine])
    counters, deactivations = _counter_values(mine, webhooks, now, settings)
    if counters:
        session.execute(_UPDATE_COUNTER, counters)
    if deactivations:
        session.execute(_DEACTIVATE, deactivations)
    session.commit()
    return len(mine)


def _counts(f: Finished) -> bool:
    """Whether the outcome is retried and moves the consecutive-failure counter when final.

    Test sends and deliveries skipped because their webhook is off do neither.
    """
    return f.claimed.event_type != TEST_EVENT and not f.skipped


def _plan(f: Finished, now: datetime, settings: DeliverySettings):
    """The delivery's new status and, if it will be retried, when."""
    if f.outcome.ok:
        return DeliveryStatus.SUCCESS, None
    retry_at = next_attempt(f.claimed.cycle_attempts + 1, settings.retry_delays, now, _counts(f))
    return (DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED), retry_at


def _delivery_values(f: Finished, plan, now: datetime) -> dict:
    status, retry_at = plan
    outcome = f.outcome
    return {"b_id": f.claimed.delivery_id, "b_status": status, "b_code": outcome.http_code,
            "b_duration": outcome.duration_ms, "b_error": outcome.error, "b_next": retry_at,
            "b_done": None if retry_at else now}


def _attempt_values(f: Finished) -> dict:
    o = f.outcome
    return {"delivery_id": f.claimed.delivery_id, "attempted_at": f.attempted_at,
            "http_code": o.http_code, "duration_ms": o.duration_ms, "error": o.error,
            "response_body": o.response_body}


def _counter_values(mine: list, webhooks: dict, now: datetime, settings: DeliverySettings):
    """Counter rows and deactivation rows, folding final outcomes in order of completion."""
    finals: dict[int, list[bool]] = defaultdict(list)
    for f, (status, _) in mine:
        if _counts(f) and status != DeliveryStatus.PENDING:
            finals[f.claimed.webhook_id].append(status == DeliveryStatus.SUCCESS)
    counters, deactivations = [], []
    threshold = settings.max_consecutive_failures
    for webhook_id, outcomes in finals.items():
        current = webhooks.get(webhook_id)
        if current is None:
            continue
        failures, reached = apply_outcomes(current.consecutive_failures, outcomes, threshold)
        counters.append({"b_id": webhook_id, "b_failures": failures})
        if reached:
            deactivations.append({"b_id": webhook_id, "b_at": now, "b_reason":
                                  f"{threshold} consecutive deliveries failed"})
    return counters, deactivations
