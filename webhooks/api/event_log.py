"""/api/v1 event log: a project's events with their deliveries, one event, replay (SPEC §5)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from .. import lookup, manage
from ..clock import parse_iso
from ..exceptions import Invalid
from ..extensions import app_now, db
from ..history import (
    EventFilter,
    decode_event_cursor,
    deliveries_of,
    events_page,
    parse_event_type,
    parse_status,
)
from ..scheduler import wake
from . import serialize
from .common import page_args, project_or_404, reachable, require

bp = Blueprint("event_log", __name__)


@bp.get("/projects/<project_id>/events")
def list_events(project_id: str):
    """Newest first; `status` keeps the events with at least one delivery in that status."""
    token = require("webhooks:read")
    project = project_or_404(token, project_id)
    where = EventFilter(parse_event_type(request.args.get("type")), _time("since"),
                        _time("until"), parse_status(request.args.get("status")))
    limit, after = page_args(decode_event_cursor)
    rows, next_cursor = events_page(db.session, project.id, where, after, limit)
    deliveries = deliveries_of(db.session, [e.id for e in rows])
    return {"items": [serialize.event(e, deliveries[e.id]) for e in rows],
            "nextCursor": next_cursor}


@bp.get("/events/<event_id>")
def get_event(event_id: str):
    token = require("webhooks:read")
    event = lookup.event(db.session, event_id, reachable(token))
    return serialize.event(event, deliveries_of(db.session, [event.id])[event.id],
                           with_payload=True)


@bp.post("/events/<event_id>/replay")
def replay_event(event_id: str):
    """New deliveries of the same body for the webhooks subscribed now."""
    token = require("webhooks:write")
    event = lookup.event(db.session, event_id, reachable(token))
    count = manage.replay_event(db.session, event, app_now())
    db.session.commit()
    if count:
        wake(current_app)
    return {"deliveries": count}, 202


def _time(name: str):
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise Invalid(f"{name} must be UTC ISO-8601 with milliseconds, like "
                      "2026-03-22T12:00:00.000Z", name) from None
