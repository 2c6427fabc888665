"""Delivery histories with chosen times, for the trend tests: recorded the way the service
records outcomes (`record_outcomes`, which keeps the rollup), or stored as plain rows (a
database about to be upgraded); and the trend figures computed straight from the deliveries
and attempts, to compare the charts' numbers with.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import column as sqlcolumn
from sqlalchemy import insert, or_, select, update
from sqlalchemy import table as sqltable

from webhooks.delivery.claim import Claimed
from webhooks.delivery.ports import Outcome
from webhooks.delivery.record import Finished, NotSent, record_outcomes
from webhooks.events import TEST_EVENT
from webhooks.latency import bucket_of, middle
from webhooks.models import Delivery, DeliveryAttempt, Event
from webhooks.ui.charts import ms

NOW = datetime(2026, 3, 22, 12, 30, 15)
REFUSED = "connection refused"
_NOT_SENT = [why.value for why in NotSent]


@dataclass
class Attempt:
    at: datetime
    code: int | None
    duration_ms: int
    error: str | None = None
    not_sent: NotSent | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300 and self.error is None

    @property
    def end(self) -> datetime:
        return self.at + timedelta(milliseconds=self.duration_ms)


def answer(at: datetime, code: int | None, duration_ms: int) -> Attempt:
    """An attempt answered with `code` (None: the connection was refused)."""
    if code is None:
        return Attempt(at, None, duration_ms, REFUSED)
    return Attempt(at, code, duration_ms, None if 200 <= code < 300 else f"HTTP {code}")


def never_sent(at: datetime, why: NotSent = NotSent.WEBHOOK_INACTIVE) -> Attempt:
    return Attempt(at, None, 0, why.value, why)


@dataclass
class Planned:
    """One delivery and its attempts, oldest first (3 failures make it fail, as by default)."""

    webhook_id: int
    attempts: list[Attempt]
    event_type: str = "task.created"
    id: int | None = field(default=None)

    @property
    def status(self) -> str:
        last = self.attempts[-1]
        if last.ok:
            return "success"
        final = (len(self.attempts) == 3 or last.not_sent is not None
                 or self.event_type == TEST_EVENT)
        return "failed" if final else "pending"


def random_history(webhook_ids: list[int], now: datetime = NOW, count: int = 300,
                   seed: int = 13, recent: float = 0.0) -> list[Planned]:
    """Deliveries spread over the 33 days before `now` (some older than the 30 d window; a
    `recent` share in the last day), of every kind: successes, successes after a retry,
    failures after three attempts, pending ones, test sends, attempts never made; durations
    from 0 ms to over the histogram's top."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        span = 86400 if rng.random() < recent else 33 * 86400
        at = now - timedelta(seconds=rng.uniform(300, span))
        webhook, kind = rng.choice(webhook_ids), rng.random()

        def took() -> int:
            roll = rng.random()
            return 0 if roll < 0.03 else 70_000 if roll < 0.04 else int(rng.lognormvariate(4.8, 1))

        if kind < 0.06:
            out.append(Planned(webhook, [answer(at, rng.choice([200, 500]), took())], TEST_EVENT))
        elif kind < 0.09:
            out.append(Planned(webhook, [never_sent(at, rng.choice(list(NotSent)))]))
        else:
            codes = ([200] if kind < 0.75 else [503, 200] if kind < 0.85 else [500, None, 502]
                     if kind < 0.95 else [500])
            attempts = []
            for code in codes:
                attempts.append(answer(at, code, took()))
                at = attempts[-1].end + timedelta(seconds=10 * len(attempts))
            out.append(Planned(webhook, attempts))
    return out


def record(session, planned: list[Planned], settings, commit_every: int = 100) -> None:
    """Store each delivery pending, then record its attempts one by one as the dispatcher
    does: claimed, then `record_outcomes` when the attempt ends. Commits every
    `commit_every` deliveries (each commit costs a disk flush)."""
    for n, p in enumerate(planned, 1):
        p.id = _new_delivery(session, p, "pending", None, 0)  # never due: no scheduler takes it
        record_cycle(session, p, settings, commit=n % commit_every == 0)
    session.commit()


def record_cycle(session, p: Planned, settings, commit: bool = True) -> None:
    """Record the attempts of `p` (a delivery already stored, pending) one by one."""
    for n, a in enumerate(p.attempts):
        token = uuid.uuid4().hex
        session.execute(update(Delivery).where(Delivery.id == p.id).values(claim_token=token))
        claimed = Claimed(delivery_id=p.id, token=token, webhook_id=p.webhook_id,
                          event_type=p.event_type, cycle_attempts=n, url="http://x/",
                          secret_encrypted="", active=True, body="{}")
        outcome = Outcome(p.id, a.code, a.duration_ms, a.error)
        assert record_outcomes(session, [Finished(claimed, outcome, a.at, a.not_sent)],
                               a.end, settings, commit=commit) == 1


def store(session, planned: list[Planned]) -> None:
    """Store the deliveries as rows, final or not, with their attempt logs (no rollup)."""
    for p in planned:
        last = p.attempts[-1]
        final = p.status != "pending"
        p.id = _new_delivery(session, p, p.status, last.end if final else None, len(p.attempts),
                             None if final else last.end, last.code, last.duration_ms,
                             last.error)
        session.execute(insert(_only(DeliveryAttempt, "delivery_id", "attempted_at", "http_code",
                                     "duration_ms", "error")), [
            {"delivery_id": p.id, "attempted_at": a.at, "http_code": a.code,
             "duration_ms": a.duration_ms, "error": a.error} for a in p.attempts])
    session.commit()


def _new_delivery(session, p: Planned, status: str, completed_at, attempts: int, due=None,
                  code=None, duration=None, error=None) -> int:
    event_id = f"evt_t{uuid.uuid4().hex[:20]}"
    created = p.attempts[0].at
    session.execute(insert(_only(Event, "id", "project_id", "type", "body", "delivery_count",
                                 "created_at")).values(
        id=event_id, project_id=_project_of(session, p.webhook_id), type=p.event_type,
        body="{}", delivery_count=1, created_at=created))
    session.execute(insert(_only(
        Delivery, "webhook_id", "event_id", "event_type", "status", "attempts", "cycle_attempts",
        "http_code", "duration_ms", "last_error", "next_attempt_at", "created_at",
        "completed_at")).values(
        webhook_id=p.webhook_id, event_id=event_id, event_type=p.event_type, status=status,
        attempts=attempts, cycle_attempts=attempts, http_code=code, duration_ms=duration,
        last_error=error, next_attempt_at=due, created_at=created, completed_at=completed_at))
    return session.scalar(select(Delivery.id).where(Delivery.event_id == event_id))


def _only(model, *names: str):
    """The model's table with only these columns: inserts that also fit a database at an
    earlier revision (columns added since keep their server defaults)."""
    table = model.__table__
    return sqltable(table.name, *(sqlcolumn(n, table.c[n].type) for n in names))


def _project_of(session, webhook_id: int) -> int:
    from webhooks.models import Webhook

    return session.scalar(select(Webhook.project_id).where(Webhook.id == webhook_id))


# --- The figures, straight from the deliveries and attempts --------------------------------

def windows(now: datetime) -> dict[str, list[datetime]]:
    """The buckets' starts: 24 hours ending with the current one, 30 days ending today."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    return {"24h": [hour - timedelta(hours=23 - i) for i in range(24)],
            "30d": [day - timedelta(days=29 - i) for i in range(30)]}


def exact_percentile(durations: list[int], p: int) -> int | None:
    """The nearest-rank percentile."""
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[max(-(-p * len(ordered) // 100), 1) - 1]


def reported(exact: int | None) -> float | None:
    """What the chart shows for an exact percentile: the middle of its histogram bucket."""
    return None if exact is None else middle(bucket_of(exact))


def direct(session, webhook_ids: list[int], now: datetime) -> dict[str, list[tuple]]:
    """Per window, per bucket: (start, succeeded, failed, attempts timed, exact p50, exact
    p95), from the rows: final deliveries by completed_at, attempts by attempted_at; test and
    example sends out, attempts never made without a duration."""
    counted = (Delivery.webhook_id.in_(webhook_ids), Delivery.event_type != TEST_EVENT,
               Delivery.example.is_not(True))
    finals = session.execute(select(Delivery.completed_at, Delivery.status).where(
        *counted, Delivery.status.in_(["success", "failed"]),
        Delivery.completed_at.is_not(None))).all()
    timed = session.execute(
        select(DeliveryAttempt.attempted_at, DeliveryAttempt.duration_ms)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(*counted,
               or_(DeliveryAttempt.error.is_(None), DeliveryAttempt.error.not_in(_NOT_SENT)))
    ).all()
    out = {}
    for name, starts in windows(now).items():
        step = timedelta(hours=1) if name == "24h" else timedelta(days=1)
        rows = []
        for start in starts:
            end = start + step
            done = [s for at, s in finals if start <= at < end]
            durations = [d for at, d in timed if start <= at < end]
            rows.append((start, done.count("success"), done.count("failed"), len(durations),
                         exact_percentile(durations, 50), exact_percentile(durations, 95)))
        out[name] = rows
    return out


def as_reported(figures: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """`direct`'s figures with each percentile as the chart reports it."""
    return {name: [(*row[:4], reported(row[4]), reported(row[5])) for row in rows]
            for name, rows in figures.items()}


def from_trends(trends) -> dict[str, list[tuple]]:
    """The same figures from `webhooks.trends`."""
    return {name: [(b.start, b.succeeded, b.failed, b.attempts, b.p50_ms, b.p95_ms)
                   for b in series.buckets]
            for name, series in (("24h", trends.hours), ("30d", trends.days))}


def shown(figures: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """`direct`'s figures as the page's tables show them: counts, then p50 and p95 as text."""
    return {name: [(*row[:4], ms(reported(row[4])), ms(reported(row[5]))) for row in rows]
            for name, rows in figures.items()}
