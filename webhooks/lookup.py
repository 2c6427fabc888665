"""Finding a row by an id from a URL, among what the caller may see: the one core behind the
API's and the UI's `*_or_404`. A row that does not exist and a row the caller may not see
read the same (SPEC §5). No Flask here."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .exceptions import NotFound
from .models import ApiToken, Delivery, Event, Project, User, Webhook, fits

# The width of each table's id column: a larger id from a URL can match nothing, and
# PostgreSQL would refuse it as a parameter, so it is answered without a query.
ID_BITS = {Project: 64, Webhook: 32, Delivery: 64, User: 32, ApiToken: 32}


def find(session: Session, model, row_id: int):
    """The row with this id, or None."""
    return session.get(model, row_id) if fits(row_id, ID_BITS[model]) else None


def _seen(project_id: int, visible: set[int] | None) -> bool:
    return visible is None or project_id in visible


def project(session: Session, project_id: int, visible: set[int] | None) -> Project:
    """The project, if it is among `visible` (None: all); else NotFound."""
    found = find(session, Project, project_id)
    if found is None or not _seen(found.id, visible):
        raise NotFound(f"no project {project_id}")
    return found


def webhook(session: Session, webhook_id: int, visible: set[int] | None) -> Webhook:
    """The webhook, if its project is among `visible` (None: all); else NotFound."""
    found = find(session, Webhook, webhook_id)
    if found is None or not _seen(found.project_id, visible):
        raise NotFound(f"no webhook {webhook_id}")
    return found


def event(session: Session, event_id: str, visible: set[int] | None) -> Event:
    """The event, if its project is among `visible`; else NotFound (which does not repeat
    the id: an event id is any string)."""
    # PostgreSQL refuses NUL in text: such an id can match nothing.
    found = session.get(Event, event_id) if len(event_id) <= 32 and "\x00" not in event_id else None
    if found is None or not _seen(found.project_id, visible):
        raise NotFound("no such event")
    return found


def delivery(session: Session, delivery_id: int,
             visible: set[int] | None) -> tuple[Delivery, Webhook]:
    """The delivery and its webhook, if the webhook's project is among `visible`."""
    row = None
    if fits(delivery_id, ID_BITS[Delivery]):
        row = session.execute(select(Delivery, Webhook)
                              .join(Webhook, Webhook.id == Delivery.webhook_id)
                              .where(Delivery.id == delivery_id)).first()
    if row is None or not _seen(row[1].project_id, visible):
        raise NotFound(f"no delivery {delivery_id}")
    return row[0], row[1]


def event_by_reference(session: Session, text: str,
                       visible: set[int] | None) -> tuple[Event, int | None]:
    """The event named by its id (`evt_…`) or by one of its deliveries' ids (the digits a
    receiver logs from `X-Webhook-Delivery`), with that delivery's id; NotFound else."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        try:
            found, _ = delivery(session, int(text), visible)
        except NotFound:
            pass
        else:
            return event(session, found.event_id, visible), found.id
    return event(session, text, visible), None
