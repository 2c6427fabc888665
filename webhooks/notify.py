"""Notices (SPEC §9): who is told when a webhook starts failing or is deactivated, and telling them.

Notices are written in the same transaction that moves a webhook's counter (delivery/record.py),
under that webhook's row lock, so each crossing makes its notices exactly once whatever the
number of processes. They are then sent like deliveries: claimed with a lease and a token in a
short transaction, sent with no transaction open, and recorded only by the token's holder;
a failed attempt is retried on the delivery schedule (`WEBHOOKS_RETRY_DELAYS`). A notice that
fails never touches any webhook's counter. No Flask here.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock, iso
from .config import DeliverySettings
from .crypto import SecretUnreadable
from .dbtx import writing
from .delivery.claim import new_token
from .delivery.policy import next_attempt
from .delivery.ports import OutgoingRequest, Sender
from .delivery.signing import sign
from .events import encode_body
from .mail import Mailer, MailError
from .models import (
    DeliveryStatus,
    Notice,
    NoticeChannel,
    NoticeKind,
    Project,
    User,
    Webhook,
    memberships,
)

log = logging.getLogger("webhooks.notify")

_notices, _webhooks, _projects, _users = (Notice.__table__, Webhook.__table__,
                                          Project.__table__, User.__table__)
BATCH = 20  # notices claimed at once; each email is its own SMTP connection


def failing_mark(threshold: int) -> int | None:
    """The counter value at which a webhook is "failing": half the threshold, if below it."""
    half = threshold // 2
    return half if 0 < half < threshold else None


def crossed(failures: int, outcomes: list[bool], mark: int) -> bool:
    """Whether the counter, folding these final outcomes (True = success), steps onto `mark`."""
    for success in outcomes:
        failures = 0 if success else failures + 1
        if failures == mark and not success:
            return True
    return False


@dataclass(frozen=True)
class Crossing:
    """A webhook whose counter just crossed a line: what to tell, and the facts to tell."""

    webhook_id: int
    kind: NoticeKind
    failures: int
    reason: str
    last_error: str | None


def reason_for(kind: NoticeKind, failures: int, threshold: int) -> str:
    if kind is NoticeKind.DEACTIVATED:
        return f"{threshold} consecutive deliveries failed"
    return (f"{failures} consecutive deliveries failed; the webhook is turned off after "
            f"{threshold}")


def raise_notices(session: Session, crossings: list[Crossing], now: datetime,
                  mail: bool) -> int:
    """Write the notices of these crossings (in the caller's transaction); how many."""
    rows = []
    for c in crossings:
        hook = session.execute(select(_webhooks.c.url, _webhooks.c.project_id)
                               .where(_webhooks.c.id == c.webhook_id)).one_or_none()
        if hook is None:
            continue
        notify_url = session.scalar(select(_projects.c.notify_url)
                                    .where(_projects.c.id == hook.project_id))
        body = encode_body({"event": c.kind.value, "timestamp": iso(now),
                            "webhookId": c.webhook_id, "goalId": hook.project_id,
                            "url": hook.url, "consecutiveFailures": c.failures,
                            "reason": c.reason})
        common = {"project_id": hook.project_id, "webhook_id": c.webhook_id, "kind": c.kind,
                  "body": body, "last_delivery_error": c.last_error,
                  "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                  "created_at": now}
        if mail:
            rows += [{**common, "channel": NoticeChannel.EMAIL, "recipient": email}
                     for email in recipients(session, hook.project_id)]
        if notify_url:
            rows.append({**common, "channel": NoticeChannel.WEBHOOK, "recipient": notify_url})
    if rows:
        session.execute(insert(_notices), rows)
    return len(rows)


def recipients(session: Session, project_id: int) -> list[str]:
    """The addresses of the project's members and the admins who have not turned mail off."""
    member = select(memberships.c.user_id).where(memberships.c.project_id == project_id)
    return list(session.scalars(
        select(_users.c.email).where(_users.c.notify_email.is_(True),
                                     or_(_users.c.is_admin.is_(True), _users.c.id.in_(member)))
        .order_by(_users.c.email)))


@dataclass(frozen=True)
class ClaimedNotice:
    id: int
    token: str
    kind: str
    channel: str
    recipient: str
    body: str
    last_delivery_error: str | None
    attempts: int
    webhook_id: int | None
    project_id: int
    project_name: str
    notify_url: str | None
    notify_secret_encrypted: str | None


_DETAILS = (
    select(_notices.c.id, _notices.c.kind, _notices.c.channel, _notices.c.recipient,
           _notices.c.body, _notices.c.last_delivery_error, _notices.c.attempts,
           _notices.c.webhook_id, _notices.c.project_id, _projects.c.name.label("project_name"),
           _projects.c.notify_url, _projects.c.notify_secret_encrypted)
    .join(_projects, _projects.c.id == _notices.c.project_id)
)
_RECORD = (
    update(_notices)
    .where(_notices.c.id == bindparam("b_id"), _notices.c.claim_token == bindparam("b_token"))
    .values(status=bindparam("b_status"), attempts=_notices.c.attempts + 1,
            error=bindparam("b_error"), next_attempt_at=bindparam("b_next"),
            completed_at=bindparam("b_done"), claim_token=None)
)


def claim_notices(session: Session, now: datetime, lease: float,
                  limit: int = BATCH) -> list[ClaimedNotice]:
    """Claim due notices for one lease, and commit."""
    due = (select(_notices.c.id).where(_notices.c.status == DeliveryStatus.PENDING.value,
                                       _notices.c.next_attempt_at <= now)
           .order_by(_notices.c.next_attempt_at, _notices.c.id).limit(limit)
           .with_for_update(skip_locked=True))
    picked = list(session.scalars(due))
    claimed = []
    if picked:
        token = new_token()
        session.execute(update(_notices).where(_notices.c.id.in_(picked))
                        .values(next_attempt_at=now + timedelta(seconds=lease),
                                claim_token=token))
        claimed = [ClaimedNotice(token=token, **row._mapping) for row in session.execute(
            _DETAILS.where(_notices.c.id.in_(picked)).order_by(_notices.c.id))]
    session.commit()
    return claimed


class Notifier:
    """Sends due notices until none is due: mail through the mailer (None: mail is off),
    operational webhooks through the delivery sender."""

    def __init__(self, session_factory: sessionmaker, mailer: Mailer | None, sender: Sender,
                 decrypt: Callable[[str], str], settings: DeliverySettings, clock: Clock,
                 base_url: str, mail_from: str):
        self.session_factory, self.mailer, self.sender = session_factory, mailer, sender
        self.decrypt, self.settings, self.clock = decrypt, settings, clock
        self.base_url, self.mail_from = base_url, mail_from

    def run_until_idle(self) -> int:
        """Send what is due, batch by batch; the number of notices attempted."""
        done = 0
        while True:
            with writing(), self.session_factory() as session:
                claimed = claim_notices(session, self.clock(), self.settings.lease)
            if not claimed:
                return done
            results = [(notice, self.attempt(notice)) for notice in claimed]
            with writing(), self.session_factory() as session:
                self.record(session, results, self.clock())
            done += len(claimed)

    def attempt(self, notice: ClaimedNotice) -> str | None:
        """Send one notice; None, or why it failed."""
        if notice.channel == NoticeChannel.EMAIL:
            if self.mailer is None:
                return "mail is off (WEBHOOKS_SMTP_URL is not set)"
            try:
                self.mailer.send(compose_email(notice, self.mail_from, self.base_url))
            except MailError as exc:
                return str(exc)
            return None
        return self._post(notice)

    def _post(self, notice: ClaimedNotice) -> str | None:
        if not notice.notify_url or not notice.notify_secret_encrypted:
            return "the project has no operational webhook any more"
        try:
            secret = self.decrypt(notice.notify_secret_encrypted)
        except SecretUnreadable as exc:
            return str(exc)
        body = notice.body.encode("utf-8")
        outcome = self.sender.send(OutgoingRequest(
            notice.id, notice.notify_url, body,
            {"Content-Type": "application/json", "User-Agent": self.settings.user_agent,
             "X-Webhook-Signature": sign(body, secret), "X-Webhook-Event": notice.kind,
             "X-Webhook-Delivery": f"notice-{notice.id}", "Accept-Encoding": "identity"},
            self.settings.timeout))
        return None if outcome.ok else (outcome.error or f"HTTP {outcome.http_code}")

    def record(self, session: Session, results: list[tuple[ClaimedNotice, str | None]],
               now: datetime) -> None:
        """Write each outcome the token still allows; retry failures on the delivery schedule."""
        values = []
        for notice, error in results:
            retry_at = None if error is None else next_attempt(
                notice.attempts + 1, self.settings.retry_delays, now)
            status = (DeliveryStatus.SUCCESS if error is None else
                      DeliveryStatus.PENDING if retry_at else DeliveryStatus.FAILED)
            values.append({"b_id": notice.id, "b_token": notice.token, "b_status": status,
                           "b_error": error, "b_next": retry_at,
                           "b_done": None if retry_at else now})
            log.log(logging.INFO if error is None else logging.WARNING,
                    "notice=%s %s to %s for webhook=%s: %s", notice.id, notice.kind,
                    notice.recipient if notice.channel == NoticeChannel.EMAIL
                    else "the operational webhook", notice.webhook_id,
                    "sent" if error is None else f"{error} ({status})")
        session.execute(_RECORD, values)
        session.commit()


def compose_email(notice: ClaimedNotice, mail_from: str, base_url: str) -> EmailMessage:
    """The email of a notice (SPEC §9): the subject names the URL and what happened; the body
    gives the reason, the counter, the last error and a link to the webhook's page."""
    facts = json.loads(notice.body)
    what = ("was deactivated" if notice.kind == NoticeKind.DEACTIVATED
            else "is failing")
    message = EmailMessage()
    message["Subject"] = f"Webhook {what}: {facts['url']}"
    message["From"], message["To"] = mail_from, notice.recipient
    message["Date"], message["Message-ID"] = formatdate(), make_msgid(domain="webhooks")
    link = f"{base_url}/webhooks/{facts['webhookId']}/deliveries"
    after = ("Events are no longer sent to it. Once the receiver works again, turn the webhook "
             "back on and retry its failed deliveries from its page."
             if notice.kind == NoticeKind.DEACTIVATED else
             "It is turned off if the failures go on.")
    message.set_content(
        f"The webhook {facts['url']} of project {notice.project_name} "
        f"({facts['goalId']}) {what}.\n\n"
        f"Reason: {facts['reason']}\n"
        f"Consecutive failures: {facts['consecutiveFailures']}\n"
        f"Last error: {notice.last_delivery_error or 'none recorded'}\n"
        f"When: {facts['timestamp']}\n\n"
        f"{after}\n\nThe webhook's deliveries: {link}\n\n"
        f"You get this email as a member of project {notice.project_name}. To stop these "
        f"emails, untick \"Email me\" on your account page: {base_url}/account\n")
    return message


def prune_notices(session: Session, now: datetime, older_than: timedelta) -> int:
    """Delete notices finished before the retention window (like deliveries)."""
    result = session.execute(delete(_notices).where(_notices.c.completed_at < now - older_than))
    return max(result.rowcount, 0)
