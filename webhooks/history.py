"""History queries shared by the API and the UI: a webhook's deliveries and a project's event
log, in keyset pages (never COUNT or OFFSET)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, tuple_
from sqlalchemy.orm import Session

from .events import BY_NAME, TEST_EVENT
from .exceptions import Invalid
from .models import Delivery, DeliveryAttempt, DeliveryStatus, Event, fits


def encode_cursor(last_id: int) -> str:
    """An opaque, URL-safe cursor for "the rows after this id"."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id inside a cursor this service handed out. Raises ValueError for any other."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a cursor") from None
    prefix, _, value = text.partition(":")
    if prefix != "id" or not value.isascii():
        raise ValueError("not a cursor")
    number = int(value)  # ValueError for anything but an integer
    if not fits(number):
        raise ValueError("not a cursor")
    return number


def deliveries_page(session: Session, webhook_id: int, status: str | None, before: int | None,
                    limit: int) -> tuple[list[Delivery], int | None]:
    """Up to `limit` deliveries of a webhook, newest first, with ids below `before`.

    Returns the rows and the id to continue below, or None on the last page.
    """
    query = (select(Delivery).where(Delivery.webhook_id == webhook_id)
             .order_by(Delivery.id.desc()).limit(limit + 1))
    if status:
        query = query.where(Delivery.status == status)
    if before is not None:
        query = query.where(Delivery.id < before)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def encode_event_cursor(created_at: datetime, event_id: str) -> str:
    """An opaque cursor for "the events older than this one"."""
    text = f"ev:{created_at.isoformat()}|{event_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_event_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) inside an event cursor this service handed out; ValueError else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a cursor") from None
    prefix, _, rest = text.partition(":")
    moment, _, event_id = rest.partition("|")
    if (prefix != "ev" or not event_id or len(event_id) > 32 or "\x00" in event_id
            or not moment.isascii()):
        raise ValueError("not a cursor")
    created_at = datetime.fromisoformat(moment)
    if created_at.tzinfo is not None:  # the column holds naive UTC
        raise ValueError("not a cursor")
    return created_at, event_id


def parse_event_type(value: str | None) -> str | None:
    """An event type to filter on: one of the catalogue or `webhook.test`; None for any."""
    if value is not None and value not in BY_NAME and value != TEST_EVENT:
        raise Invalid(f"unknown event type {value!r}", "type")
    return value


def parse_status(value: str | None) -> str | None:
    """A delivery status to filter on; None for any."""
    if value is not None and value not in tuple(DeliveryStatus):
        raise Invalid(f"status must be one of {', '.join(DeliveryStatus)}", "status")
    return value


@dataclass(frozen=True)
class EventFilter:
    """What an event log page shows: a type, a time range, events with a delivery in a
    status; None leaves each open."""

    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None


def events_page(session: Session, project_id: int, where: EventFilter,
                after: tuple[datetime, str] | None, limit: int) -> tuple[list[Event], str | None]:
    """Up to `limit` events of a project, newest first, older than `after`; with the cursor of
    the next page, or None on the last."""
    query = (select(Event).where(Event.project_id == project_id)
             .order_by(Event.created_at.desc(), Event.id.desc()).limit(limit + 1))
    if where.event_type:
        query = query.where(Event.type == where.event_type)
    if where.since is not None:
        query = query.where(Event.created_at >= where.since)
    if where.until is not None:
        query = query.where(Event.created_at < where.until)
    if where.status:
        query = query.where(exists().where(Delivery.event_id == Event.id,
                                           Delivery.status == where.status))
    if after is not None:
        query = query.where(tuple_(Event.created_at, Event.id) < after)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], encode_event_cursor(last.created_at, last.id)
    return rows, None


def deliveries_of(session: Session, event_ids: list[str]) -> dict[str, list[Delivery]]:
    """The deliveries of these events, by event, in id order."""
    found: dict[str, list[Delivery]] = {event_id: [] for event_id in event_ids}
    if event_ids:
        for delivery in session.scalars(select(Delivery).where(Delivery.event_id.in_(event_ids))
                                        .order_by(Delivery.id)):
            found[delivery.event_id].append(delivery)
    return found


def event_body(session: Session, delivery: Delivery) -> str:
    """The exact outgoing body of a delivery."""
    return session.scalar(select(Event.body).where(Event.id == delivery.event_id)) or ""


def attempt_log(session: Session, delivery: Delivery) -> list[DeliveryAttempt]:
    """A delivery's attempts, oldest first."""
    return list(session.scalars(select(DeliveryAttempt)
                                .where(DeliveryAttempt.delivery_id == delivery.id)
                                .order_by(DeliveryAttempt.id)))
