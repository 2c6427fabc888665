"""Delivery history queries shared by the API and the UI: keyset pages, never COUNT or OFFSET."""
from __future__ import annotations

import base64
import binascii

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Delivery, DeliveryAttempt, Event, fits


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


def event_body(session: Session, delivery: Delivery) -> str:
    """The exact outgoing body of a delivery."""
    return session.scalar(select(Event.body).where(Event.id == delivery.event_id)) or ""


def attempt_log(session: Session, delivery: Delivery) -> list[DeliveryAttempt]:
    """A delivery's attempts, oldest first."""
    return list(session.scalars(select(DeliveryAttempt)
                                .where(DeliveryAttempt.delivery_id == delivery.id)
                                .order_by(DeliveryAttempt.id)))
