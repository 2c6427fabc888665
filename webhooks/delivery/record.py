"""Recording outcomes: one transaction per batch, every write guarded by the claim token."""
from __future__ import annotations

import enum
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..config import DeliverySettings
from ..crypto import UNREADABLE_SECRET
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, NoticeKind, Webhook
from ..notify import Crossing, crossed, failing_mark, raise_notices, reason_for
from .claim import Claimed
from .counters import Tally
from .policy import apply_outcomes, next_attempt
from .ports import Outcome
from .rollup import roll_up

log = logging.getLogger("webhooks.delivery")


class NotSent(enum.Enum):
    """Why an attempt was not made (its value is the error recorded). Neither is retried,
    and neither counts towards turning the webhook off (SPEC §4)."""

    WEBHOOK_INACTIVE = "webhook inactive"
    SECRET_UNREADABLE = UNREADABLE_SECRET  # SECRET_KEY changed: our failure, not the receiver's


@dataclass(frozen=True, slots=True)
class Finished:
    """An attempt that has ended, or was never made (`not_sent` says why)."""

    claimed: Claimed
    outcome: Outcome
    attempted_at: datetime
    not_sent: NotSent | None = None

    @classmethod
    def never_sent(cls, claimed: Claimed, why: NotSent, now: datetime) -> Finished:
        return cls(claimed, Outcome(claimed.delivery_id, None, 0, why.value), now, why)


class Plan(NamedTuple):
    """What an outcome makes of its delivery."""

    status: DeliveryStatus
    next_attempt_at: datetime | None


_deliveries = Delivery.__table__
_webhooks = Webhook.__table__
_attempts = DeliveryAttempt.__table__
_UPDATE_DELIVERY = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"), _deliveries.c.claim_token == bindparam("b_token"))
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
    .values(active=False, deactivated_at=bindparam("b_at"),
            deactivation_reason=bindparam("b_reason"))
)


def record_outcomes(session: Session, finished: list[Finished], now: datetime,
                    settings: DeliverySettings, commit: bool = True,
                    tally: Tally | None = None) -> int:
    """Write attempts, delivery states and webhook counters; commit. Returns rows written.

    A delivery whose claim token no longer matches (its lease ran out and someone else
    claimed it, or it was deleted) is left alone: that late result is dropped.
    What was written is added to `tally`; without one, to the stored /metrics counters
    in this transaction.
    """
    if not finished:
        return 0
    own = Tally() if tally is None else tally
    plans = [(f, _plan(f, now, settings)) for f in finished]
    written = _record_all_owned(session, plans, now, settings, own)
    if written is None:  # some claim went stale: start again, checking each row
        session.rollback()
        written = _record_checked(session, plans, now, settings, own)
    if tally is None:
        own.flush(session)
    if commit:
        session.commit()
        log_attempts(finished, own.outcomes)
    return written


def _record_all_owned(session: Session, plans: list, now: datetime,
                      settings: DeliverySettings, tally: Tally) -> int | None:
    """The common case in few statements; None if any delivery is no longer ours."""
    finals = _finals(plans)
    failing = sorted(w for w, outcomes in finals.items() if not all(outcomes))
    current = _lock_webhooks(session, failing)
    succeeding = sorted(w for w in finals if w not in current)
    if succeeding:  # webhooks (locked first, as deletes do) whose final outcomes all succeeded
        session.execute(update(_webhooks).where(_webhooks.c.id.in_(succeeding),
                                                _webhooks.c.consecutive_failures != 0)
                        .values(consecutive_failures=0))
    result = session.execute(_UPDATE_DELIVERY, [_delivery_values(f, plan, now)
                                                for f, plan in plans])
    if result.rowcount != len(plans):
        return None
    _write_attempts(session, plans, {w: finals[w] for w in failing}, current, now, settings,
                    tally)
    return len(plans)


def _record_checked(session: Session, plans: list, now: datetime,
                    settings: DeliverySettings, tally: Tally) -> int:
    """Lock and compare every claim token; write only the deliveries still ours."""
    finals = _finals(plans)
    current = _lock_webhooks(session, sorted(finals))
    tokens = {f.claimed.delivery_id: f.claimed.token for f, _ in plans}
    owned = {row[0] for row in session.execute(
        select(_deliveries.c.id, _deliveries.c.claim_token)
        .where(_deliveries.c.id.in_(list(tokens))).order_by(_deliveries.c.id)
        .with_for_update()) if tokens[row[0]] == row[1]}
    mine = [(f, plan) for f, plan in plans if f.claimed.delivery_id in owned]
    if mine:
        session.execute(_UPDATE_DELIVERY, [_delivery_values(f, plan, now) for f, plan in mine])
        _write_attempts(session, mine, _finals(mine), current, now, settings, tally)
    return len(mine)


def _write_attempts(session: Session, plans: list, finals: dict, current: dict,
                    now: datetime, settings: DeliverySettings, tally: Tally) -> None:
    """After the deliveries' rows: the attempt log, the webhooks' counters, the hourly rollup
    (webhooks.delivery.rollup), the tally."""
    session.execute(insert(_attempts), [_attempt_values(f) for f, _ in plans])
    deactivated = _apply_counters(session, finals, current, now, settings, plans)
    roll_up(session, plans, now)
    for f, (status, _) in plans:
        if f.not_sent is NotSent.WEBHOOK_INACTIVE:
            outcome = "skipped"
        elif status == DeliveryStatus.SUCCESS:
            outcome = "success"
        else:
            outcome = "retry" if status == DeliveryStatus.PENDING else "failed"
        tally.attempt(outcome, f.outcome.duration_ms, f.claimed.delivery_id)
    tally.deactivated(deactivated)


def _finals(plans: list) -> dict[int, list[bool]]:
    """Per webhook, its final outcomes that count (True = success), in order of completion."""
    finals: dict[int, list[bool]] = defaultdict(list)
    for f, (status, _) in plans:
        if _counts(f) and status != DeliveryStatus.PENDING:
            finals[f.claimed.webhook_id].append(status == DeliveryStatus.SUCCESS)
    return finals


def _lock_webhooks(session: Session, webhook_ids: list[int]) -> dict:
    """Lock these webhooks' rows in id order; their current counter and active flag."""
    if not webhook_ids:
        return {}
    return {row.id: row for row in session.execute(
        select(_webhooks.c.id, _webhooks.c.consecutive_failures, _webhooks.c.active)
        .where(_webhooks.c.id.in_(webhook_ids)).order_by(_webhooks.c.id).with_for_update())}


def _apply_counters(session: Session, finals: dict, current: dict, now: datetime,
                    settings: DeliverySettings, plans: list) -> int:
    """Fold final outcomes into locked webhooks' counters; deactivate at the threshold, and
    write the notices of every line crossed (SPEC §9), under the same locks.

    Returns how many webhooks this deactivated."""
    counters, deactivations, crossings = [], [], []
    threshold = settings.max_consecutive_failures
    mark = failing_mark(threshold)
    for webhook_id, outcomes in finals.items():
        row = current.get(webhook_id)
        if row is None:
            continue
        failures, reached = apply_outcomes(row.consecutive_failures, outcomes, threshold)
        counters.append({"b_id": webhook_id, "b_failures": failures})
        if mark is not None and crossed(row.consecutive_failures, outcomes, mark):
            crossings.append(Crossing(webhook_id, NoticeKind.FAILING, mark,
                                      reason_for(NoticeKind.FAILING, mark, threshold),
                                      _last_error(plans, webhook_id)))
        if reached and row.active:
            reason = reason_for(NoticeKind.DEACTIVATED, failures, threshold)
            deactivations.append({"b_id": webhook_id, "b_at": now, "b_reason": reason})
            crossings.append(Crossing(webhook_id, NoticeKind.DEACTIVATED, failures, reason,
                                      _last_error(plans, webhook_id)))
    if counters:
        session.execute(_UPDATE_COUNTER, counters)
    if crossings:
        raise_notices(session, crossings, now, settings.mail_enabled)
    if deactivations:
        return max(session.execute(_DEACTIVATE, deactivations).rowcount, 0)
    return 0


def _last_error(plans: list, webhook_id: int) -> str | None:
    """The error of the webhook's last counted failure in this batch."""
    errors = [f.outcome.error for f, (status, _) in plans
              if f.claimed.webhook_id == webhook_id and status == DeliveryStatus.FAILED
              and _counts(f)]
    return errors[-1] if errors else None


def _counts(f: Finished) -> bool:
    """Whether the outcome is retried and moves the consecutive-failure counter when final.

    Test and example sends, deliveries skipped because their webhook is off, and deliveries
    that could not be signed (SECRET_KEY changed) do neither: the last fail at once, and the
    webhook stays on, so `flask deliveries retry-failed` recovers them once the key is right.
    """
    return not f.claimed.one_off and f.not_sent is None


def _plan(f: Finished, now: datetime, settings: DeliverySettings) -> Plan:
    """The delivery's new status and, if it will be retried, when."""
    if f.outcome.ok:
        return Plan(DeliveryStatus.SUCCESS, None)
    retry_at = next_attempt(f.claimed.cycle_attempts + 1, settings.retry_delays, now, _counts(f))
    return Plan(DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED, retry_at)


def _delivery_values(f: Finished, plan: Plan, now: datetime) -> dict:
    outcome, retry_at = f.outcome, plan.next_attempt_at
    return {"b_id": f.claimed.delivery_id, "b_token": f.claimed.token, "b_status": plan.status,
            "b_code": outcome.http_code,
            "b_duration": outcome.duration_ms, "b_error": outcome.error, "b_next": retry_at,
            "b_done": None if retry_at else now}


def _attempt_values(f: Finished) -> dict:
    o = f.outcome
    return {"delivery_id": f.claimed.delivery_id, "attempted_at": f.attempted_at,
            "http_code": o.http_code, "duration_ms": o.duration_ms, "error": o.error,
            "response_body": o.response_body}


def log_attempts(finished: list[Finished], outcomes: dict[int, str]) -> None:
    """One line per attempt, with its ids (and the same as fields, for the JSON format).

    The outcome is the one recorded (success, retry, failed, skipped, as in /metrics), or
    `dropped` for a late result whose claim had expired and was not written."""
    if not log.isEnabledFor(logging.INFO):
        return
    for f in finished:
        o, c = f.outcome, f.claimed
        fields = {"delivery_id": c.delivery_id, "webhook_id": c.webhook_id,
                  "event_type": c.event_type, "attempt": c.cycle_attempts + 1,
                  "http_code": o.http_code, "duration_ms": o.duration_ms, "error": o.error,
                  "outcome": outcomes.get(c.delivery_id, "dropped")}
        log.info("delivery=%s webhook=%s event=%s attempt=%s code=%s duration_ms=%s error=%s",
                 c.delivery_id, c.webhook_id, c.event_type, c.cycle_attempts + 1,
                 o.http_code, o.duration_ms, o.error or "-", extra={"fields": fields})
