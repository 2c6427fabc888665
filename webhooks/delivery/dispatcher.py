"""The dispatch loop: claim what is due, send it, record what happened, until nothing is due.

Sending slots are refilled as attempts finish, so one slow receiver holds only its own
slots; outcomes are written in batches. An attempt still waiting on its receiver after
`stall_after` seconds stops counting against the concurrency (up to as many again in all),
so a receiver that hangs until the timeout does not take sending slots from the others.
No Flask here: the session factory, the sender, the secret decryption and the clock are all
passed in.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ..clock import Clock, utcnow
from ..config import DeliverySettings
from ..crypto import SecretUnreadable
from ..dbtx import writing
from .claim import Claimed, claim_due
from .counters import Tally
from .ports import Outcome, OutgoingRequest, Sender
from .record import Finished, NotSent, log_attempts, record_outcomes
from .signing import sign, standard_signature

log = logging.getLogger("webhooks.delivery")
EXAMPLE_HEADER = "X-Webhook-Example"  # "true" on a "Send example" of the event catalogue


@dataclass(frozen=True, slots=True)
class InFlight:
    """An attempt handed to the sender."""

    claimed: Claimed
    attempted_at: datetime  # by the clock, for the attempt log
    started: float  # time.monotonic(), to tell when it stalls


class Completion(NamedTuple):
    """A finished send (its delivery id and future), or a nudge (both None)."""

    key: int | None
    future: Future | None


class Exchanged(NamedTuple):
    """What one turn's transaction did: outcomes recorded, deliveries claimed."""

    recorded: int
    claimed: list[Claimed]


def build_request(claimed: Claimed, secret: str, settings: DeliverySettings,
                  unix_now: int | None = None) -> OutgoingRequest:
    """The signed request for a claimed delivery (also signed the Standard Webhooks way if
    the webhook asks for it; marked with EXAMPLE_HEADER if it is an example)."""
    body = claimed.body.encode("utf-8")
    delivery_id = str(claimed.delivery_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.user_agent,
        "X-Webhook-Signature": sign(body, secret),
        "X-Webhook-Event": claimed.event_type,
        "X-Webhook-Delivery": delivery_id,
        "Accept-Encoding": "identity",
    }
    if claimed.example:
        headers[EXAMPLE_HEADER] = "true"
    if claimed.standard_webhooks:
        timestamp = int(time.time()) if unix_now is None else unix_now
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(timestamp)
        headers["webhook-signature"] = standard_signature(delivery_id, timestamp, body, secret)
    return OutgoingRequest(claimed.delivery_id, claimed.url, body, headers, settings.timeout)


class Dispatcher:
    """Runs deliveries through a sender until none is due."""

    def __init__(self, session_factory: Callable[[], Session], sender: Sender,
                 decrypt: Callable[[str], str], settings: DeliverySettings,
                 clock: Clock = utcnow, idle_wait: float = 1.0,
                 on_turn: Callable[[], None] | None = None, stall_after: float = 1.0):
        self.session_factory = session_factory
        self.sender = sender
        self.decrypt = decrypt
        self.settings = settings
        self.clock = clock
        self.stopping = threading.Event()
        self.idle_wait = idle_wait
        self.on_turn = on_turn  # called at every turn: a heartbeat for /healthz and /metrics
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self.per_webhook = max(1, settings.concurrency // 4) if settings.concurrency > 4 else None
        self.stall_after = stall_after

    def run_until_idle(self) -> int:
        """Deliver everything that is due, including what comes due meanwhile; return the count.

        Each turn is one transaction: record what finished, claim as many as there are free
        slots, commit; then send what was claimed and wait for the next completion.
        """
        in_flight: dict[int, InFlight] = {}  # by delivery id
        busy: Counter = Counter()
        finished: list[Finished] = []
        recorded = 0
        may_claim = True
        with writing(), self.session_factory() as session:
            while True:
                if self.on_turn is not None:
                    self.on_turn()
                free = self._free_slots(in_flight)
                want = free if may_claim and not self.stopping.is_set() else 0
                turn = self._exchange(session, finished, want, busy)
                recorded += turn.recorded
                claimed = turn.claimed
                finished = []
                may_claim = want > 0 and len(claimed) == want  # else nothing more is due now
                for item in claimed:
                    finished.extend(self._start(item, in_flight, busy))
                if finished:  # never sent (webhook off, secret unreadable): record them at once,
                    may_claim = True  # and claim again: they took no sending slot
                    continue
                if not in_flight:
                    return recorded
                self._take(self._wait(), finished, in_flight, busy)
                while not self._done.empty():
                    self._take(self._done.get(), finished, in_flight, busy)
                may_claim = True

    def _free_slots(self, in_flight: dict) -> int:
        """Slots to fill: stalled attempts do not count, but all in flight stay under the cap."""
        cutoff = time.monotonic() - self.stall_after
        stalled = sum(1 for attempt in in_flight.values() if attempt.started < cutoff)
        total = len(in_flight)
        return max(0, min(self.settings.concurrency - (total - stalled),
                          self.settings.max_in_flight - total))

    @staticmethod
    def _postgresql(session: Session) -> bool:
        return session.get_bind().dialect.name == "postgresql"

    def nudge(self) -> None:
        """Wake a running loop that waits on slow attempts, so it claims new work now."""
        self._done.put(Completion(None, None))

    def _wait(self):
        try:
            return self._done.get(timeout=self.idle_wait)
        except queue.Empty:
            return Completion(None, None)

    def _exchange(self, session: Session, finished: list[Finished], want: int,
                  busy: Counter) -> Exchanged:
        """Record `finished` and claim up to `want` more, in one transaction.

        Retries through a short database outage. If recording keeps failing, the outcomes
        are dropped: their claims stay on record and come due again when the lease ends.
        """
        for wait in (0.1, 0.5, 1, 2, 4, 8, None):
            try:
                if self._postgresql(session):
                    # Outcome records need not wait for the disk: if the server crashes
                    # before they are flushed, the claims come due again and the attempts
                    # are repeated (at least once). Events are still committed durably.
                    session.execute(text("SET LOCAL synchronous_commit TO off"))
                tally = Tally()
                written = record_outcomes(session, finished, self.clock(), self.settings,
                                          commit=False, tally=tally)
                claimed = claim_due(session, self.clock(), want, self.settings.lease, busy,
                                    self.per_webhook, commit=False)
                tally.flush(session)  # last: the shared counter rows are locked briefly
                session.commit()
                log_attempts(finished, tally.outcomes)
                return Exchanged(written, claimed)
            except Exception as exc:
                session.rollback()
                transient = isinstance(exc, (OperationalError, InterfaceError))
                if wait is None or not transient or self.stopping.is_set() and not finished:
                    log.exception("recording %d outcomes and claiming failed; the claims "
                                  "come due again when their lease ends", len(finished))
                    self.stopping.wait(self.idle_wait)
                    return Exchanged(0, [])
                log.warning("database unavailable; retrying in %s s", wait, exc_info=True)
                self.stopping.wait(wait)
        return Exchanged(0, [])

    def _start(self, item: Claimed, in_flight, busy) -> list[Finished]:
        """Submit one claimed delivery; an inactive webhook's delivery finishes at once."""
        now = self.clock()
        if not item.active:
            return [Finished.never_sent(item, NotSent.WEBHOOK_INACTIVE, now)]
        try:
            request = build_request(item, self.decrypt(item.secret_encrypted), self.settings)
        except SecretUnreadable:
            return [Finished.never_sent(item, NotSent.SECRET_UNREADABLE, now)]
        future = self.sender.submit(request)
        in_flight[item.delivery_id] = InFlight(item, now, time.monotonic())
        busy[item.webhook_id] += 1
        future.add_done_callback(
            lambda f, key=item.delivery_id: self._done.put(Completion(key, f)))
        return []

    def _take(self, done: Completion, finished: list[Finished], in_flight, busy) -> None:
        """Turn a completed future into a Finished; ignore nudges."""
        if done.key is None:
            return
        attempt = in_flight.pop(done.key)
        webhook_id = attempt.claimed.webhook_id
        busy[webhook_id] -= 1
        if busy[webhook_id] <= 0:
            del busy[webhook_id]
        try:
            outcome = done.future.result()
        except Exception as exc:  # a sender bug must not lose the delivery's record
            log.exception("sender failed on delivery %s", done.key)
            outcome = Outcome(done.key, None, 0, f"internal sender error: {exc}")
        finished.append(Finished(attempt.claimed, outcome, attempt.attempted_at))
