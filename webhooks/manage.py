"""Managing projects, webhooks and deliveries: the rules shared by the API and the UI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, true, update
from sqlalchemy.orm import Session

from .config import DeliverySettings
from .crypto import SecretBox, SecretUnreadable, new_webhook_secret
from .delivery.claim import Claimed, new_token
from .delivery.dispatcher import build_request
from .delivery.hosts import HostPolicy, check_url
from .delivery.ports import Sender
from .delivery.record import Finished, NotSent, record_outcomes
from .delivery.rollup import forget
from .events import (
    BY_NAME,
    EVENT_TYPES,
    TEST_EVENT,
    encode_body,
    example_body,
    webhook_test_body,
)
from .exceptions import Conflict, Invalid
from .ingest import new_event_id, subscribed_webhooks
from .models import TURNED_OFF_BY_HAND, Delivery, DeliveryStatus, Event, Project, Webhook, fits


def parse_project_id(raw) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not fits(raw):
        try:
            raw = int(str(raw).strip()) if not isinstance(raw, bool) else None
        except ValueError:
            raw = None
        if raw is None or not fits(raw):
            raise Invalid("the project id must be an integer (the host app's goalId)", "id")
    return raw


def parse_name(raw) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 200:
        raise Invalid("the name must be 1 to 200 characters", "name")
    if "\x00" in raw:  # PostgreSQL text cannot hold NUL
        raise Invalid("the name must not contain NUL characters", "name")
    return raw.strip()


def create_project(session: Session, project_id, name, now: datetime) -> Project:
    project_id, name = parse_project_id(project_id), parse_name(name)
    if session.get(Project, project_id) is not None:
        raise Conflict(f"project {project_id} already exists", "id")
    project = Project(id=project_id, name=name, created_at=now, updated_at=now)
    session.add(project)
    session.flush()
    return project


def parse_events(raw) -> list[str]:
    """Subscribed events, validated and in the catalogue's order."""
    if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
        raise Invalid("events must be a list of event names", "events")
    unknown = [e for e in raw if e not in EVENT_TYPES]
    if unknown:
        hint = " (it is sent by test sends only)" if unknown[0] == TEST_EVENT else ""
        raise Invalid(f"unknown event {unknown[0]!r}{hint}", "events")
    if not raw:
        raise Invalid("select at least one event", "events")
    return [e for e in EVENT_TYPES if e in raw]


def parse_url(raw, policy: HostPolicy) -> str:
    if not isinstance(raw, str):
        raise Invalid("url must be a string", "url")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw.strip()):
        raise Invalid("the URL must not contain control characters", "url")
    try:
        return check_url(raw, policy)
    except ValueError as exc:
        raise Invalid(str(exc), "url") from None


def parse_flag(raw, field: str) -> bool:
    if not isinstance(raw, bool):
        raise Invalid(f"{field} must be true or false", field)
    return raw


def create_webhook(session: Session, box: SecretBox, policy: HostPolicy, project: Project,
                   url, events, now: datetime, standard_webhooks=False) -> tuple[Webhook, str]:
    """Add a webhook; returns it with its secret, which is shown only this once."""
    url = parse_url(url, policy)
    event_list = parse_events(events)
    standard = parse_flag(standard_webhooks, "standardWebhooks")
    secret = new_webhook_secret()
    webhook = Webhook(project_id=project.id, url=url, events=",".join(event_list),
                      secret_encrypted=box.encrypt(secret), active=True, consecutive_failures=0,
                      standard_webhooks=standard, created_at=now, updated_at=now)
    session.add(webhook)
    session.flush()
    return webhook, secret


def update_webhook(webhook: Webhook, policy: HostPolicy, now: datetime, url=None, events=None,
                   active=None, standard_webhooks=None) -> Webhook:
    """Change URL, events, signing format or the active flag. Turning on keeps the counter."""
    if url is not None:
        webhook.url = parse_url(url, policy)
    if events is not None:
        webhook.events = ",".join(parse_events(events))
    if standard_webhooks is not None:
        webhook.standard_webhooks = parse_flag(standard_webhooks, "standardWebhooks")
    if active is not None:
        active = parse_flag(active, "active")
        if active and not webhook.active:
            webhook.deactivated_at = None
            webhook.deactivation_reason = None
        elif not active and webhook.active:
            webhook.deactivated_at = now
            webhook.deactivation_reason = TURNED_OFF_BY_HAND
        webhook.active = active
    webhook.updated_at = now
    return webhook


def set_notify_url(project: Project, box: SecretBox, policy: HostPolicy, raw, now: datetime,
                   field: str = "notifyUrl") -> str | None:
    """Set, change or (None, "") clear the project's operational webhook (SPEC §9).

    Returns the new signing secret when the URL was set or changed (shown only this once)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        project.notify_url = project.notify_secret_encrypted = None
        project.updated_at = now
        return None
    try:
        url = parse_url(raw, policy)
    except Invalid as exc:
        raise Invalid(exc.message, field) from None
    if url == project.notify_url and project.notify_secret_encrypted:
        return None
    secret = new_webhook_secret()
    project.notify_url, project.notify_secret_encrypted = url, box.encrypt(secret)
    project.updated_at = now
    return secret


def rotate_secret(webhook: Webhook, box: SecretBox, now: datetime) -> str:
    """Replace the secret at once; return the new one (shown only this once)."""
    secret = new_webhook_secret()
    webhook.secret_encrypted = box.encrypt(secret)
    webhook.updated_at = now
    return secret


def delete_webhook(session: Session, webhook: Webhook) -> None:
    """Delete a webhook; the database cascades to its deliveries and their attempts; then its
    hourly rollup.

    Rows are locked webhook first, then deliveries, then rollups: the order the recorder uses
    too. (A recorder that got the deliveries' locks first commits its rollup rows before the
    cascade can go on, so the last statement sees and deletes them.)
    """
    session.execute(delete(Webhook).where(Webhook.id == webhook.id))
    forget(session, [webhook.id])


def retry_delivery(session: Session, delivery: Delivery, webhook: Webhook,
                   now: datetime) -> Delivery:
    """Start a fresh cycle of attempts for a failed delivery."""
    return _restart(session, delivery, webhook, now, (DeliveryStatus.FAILED,),
                    ("retried", "retrying"),
                    f"only failed deliveries can be retried; this one is {delivery.status}")


def resend_delivery(session: Session, delivery: Delivery, webhook: Webhook,
                    now: datetime) -> Delivery:
    """Send a final delivery (success or failed) again: a fresh cycle, the same delivery id
    (SPEC §4), so receivers that de-duplicate on X-Webhook-Delivery can tell."""
    return _restart(session, delivery, webhook, now,
                    (DeliveryStatus.SUCCESS, DeliveryStatus.FAILED), ("resent", "resending"),
                    "the delivery is still pending; it can be resent once it is final")


def _restart(session: Session, delivery: Delivery, webhook: Webhook, now: datetime,
             statuses: tuple, verbs: tuple[str, str], not_final: str) -> Delivery:
    """Back to pending for a fresh cycle, if its status is one of `statuses` (guarded: a
    concurrent change wins)."""
    if delivery.event_type == TEST_EVENT:
        raise Conflict(f"test deliveries cannot be {verbs[0]}; send a new test instead")
    if delivery.example:
        raise Conflict(f"examples cannot be {verbs[0]}; send a new example instead")
    if not webhook.active:
        raise Conflict(f"the webhook is inactive; turn it on before {verbs[1]}")
    changed = session.execute(
        update(Delivery).where(Delivery.id == delivery.id, Delivery.status.in_(statuses))
        .values(status=DeliveryStatus.PENDING, cycle_attempts=0, next_attempt_at=now,
                completed_at=None, claim_token=None)).rowcount
    if not changed:
        raise Conflict(not_final)
    session.refresh(delivery)
    return delivery


def replay_event(session: Session, event: Event, now: datetime) -> int:
    """Send an event again to the webhooks of its project that are active and subscribed to
    its type now: new deliveries (new ids) of the same body (SPEC §4). Returns how many."""
    if event.type == TEST_EVENT:
        raise Conflict("test events cannot be replayed; send a new test instead")
    if event.example:
        raise Conflict("examples cannot be replayed; send a new example instead")
    webhook_ids = subscribed_webhooks(session, event.project_id, event.type)
    if webhook_ids:
        session.execute(insert(Delivery.__table__), [
            {"webhook_id": w, "event_id": event.id, "event_type": event.type,
             "status": DeliveryStatus.PENDING, "attempts": 0, "cycle_attempts": 0,
             "next_attempt_at": now, "created_at": now} for w in webhook_ids])
    return len(webhook_ids)


def retry_failed(session: Session, webhook: Webhook, now: datetime,
                 since: datetime | None = None, until: datetime | None = None) -> int:
    """Start a fresh cycle for every failed delivery of an active webhook (test and example
    sends excepted), or only for those created at or after `since` and before `until`.

    One UPDATE, guarded by the status and by the webhook still being active when it runs;
    returns how many deliveries went back to pending.
    """
    if not webhook.active:
        raise Conflict("the webhook is inactive; turn it on before retrying")
    still_active = (select(Webhook.id)
                    .where(Webhook.id == webhook.id, Webhook.active.is_(True)).exists())
    changed = session.execute(
        update(Delivery)
        .where(Delivery.webhook_id == webhook.id, Delivery.status == DeliveryStatus.FAILED,
               Delivery.event_type != TEST_EVENT, Delivery.example.is_(False), still_active,
               Delivery.created_at >= since if since is not None else true(),
               Delivery.created_at < until if until is not None else true())
        .values(status=DeliveryStatus.PENDING, cycle_attempts=0, next_attempt_at=now,
                completed_at=None, claim_token=None)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        session.refresh(webhook)  # turned off meanwhile: say so rather than "nothing to retry"
        if not webhook.active:
            raise Conflict("the webhook is inactive; turn it on before retrying")
    return changed


def send_test(session: Session, webhook: Webhook, box: SecretBox, sender: Sender,
              settings: DeliverySettings, now, initiator_id: int | None = None) -> Delivery:
    """Send a `webhook.test` delivery now and record it; never retried, never counted."""
    return _send_now(session, webhook, box, sender, settings, now, lambda at: webhook_test_body(
        webhook.id, webhook.project_id, at, initiator_id))


def send_example(session: Session, webhook: Webhook, box: SecretBox, sender: Sender,
                 settings: DeliverySettings, now, event) -> Delivery:
    """Send the event table's example of `event` to one webhook now (subscribed to it or
    not, on or off), with the project's goalId, marked with `X-Webhook-Example: true`, and
    record it; like a test send, never retried, resent, replayed or counted."""
    if event is None:
        raise Invalid("event is required", "event")
    if not isinstance(event, str) or event not in BY_NAME:
        raise Invalid(f"unknown event {event!r}; expected one of: {', '.join(EVENT_TYPES)}",
                      "event")
    return _send_now(session, webhook, box, sender, settings, now,
                     lambda at: example_body(event, at, webhook.project_id), example=True)


def _send_now(session: Session, webhook: Webhook, box: SecretBox, sender: Sender,
              settings: DeliverySettings, now, make_body, example: bool = False) -> Delivery:
    """Store a one-off delivery of the body `make_body(now)`, send it at once (the webhook on
    or off), and record its outcome; it never comes due again."""
    start = now()
    body = make_body(start)
    event_type, text = body["event"], encode_body(body)
    event_id, token = new_event_id(), new_token()
    session.add(Event(id=event_id, project_id=webhook.project_id, type=event_type, body=text,
                      delivery_count=1, example=example, created_at=start))
    session.flush()  # no relationship orders the INSERTs: the event must exist first (FK)
    delivery = Delivery(webhook_id=webhook.id, event_id=event_id, event_type=event_type,
                        example=example, status=DeliveryStatus.PENDING, attempts=0,
                        cycle_attempts=0, next_attempt_at=None, claim_token=token,
                        created_at=start)
    session.add(delivery)
    session.flush()
    claimed = Claimed(delivery_id=delivery.id, token=token, webhook_id=webhook.id,
                      event_type=event_type, cycle_attempts=0, url=webhook.url,
                      secret_encrypted=webhook.secret_encrypted, active=True, body=text,
                      standard_webhooks=webhook.standard_webhooks, example=example)
    session.commit()  # never hold a transaction across the HTTP call
    try:
        request = build_request(claimed, box.decrypt(claimed.secret_encrypted), settings)
    except SecretUnreadable:
        finished = Finished.never_sent(claimed, NotSent.SECRET_UNREADABLE, start)
    else:
        finished = Finished(claimed, sender.send(request), start)
    record_outcomes(session, [finished], now(), settings)
    return session.get(Delivery, claimed.delivery_id)


def delete_project(session: Session, project: Project) -> None:
    """Delete a project; the database cascades to webhooks, events and deliveries; then the
    webhooks' hourly rollups (in the order of `delete_webhook`)."""
    webhook_ids = list(session.scalars(select(Webhook.id).where(Webhook.project_id == project.id)))
    session.execute(delete(Project).where(Project.id == project.id))
    forget(session, webhook_ids)
