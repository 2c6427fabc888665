"""POST /api/v1/events: the ingest endpoint (SPEC §3)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import bindparam, select

from ..events import validate
from ..exceptions import DomainError, Forbidden, Invalid, NotFound
from ..extensions import app_now, db
from ..ingest import Submission
from ..models import Project
from ..scheduler import wake
from .common import json_object, require

bp = Blueprint("events", __name__)
# Built once: composing a statement costs more than running this one.
_PROJECT_EXISTS = select(Project.__table__.c.id).where(
    Project.__table__.c.id == bindparam("project_id"))


@bp.post("/events")
def ingest_event():
    """Validate, store the event with its deliveries, answer 202; checks in SPEC order."""
    data = json_object(current_app.config["WEBHOOKS_MAX_EVENT_BYTES"])
    token = require("events:write")
    key = _key(request.headers.get("Idempotency-Key"), "Idempotency-Key")
    now = app_now()
    (accepted,) = _store([_submission(token, data, key, now)], now)
    return {"eventId": accepted.event_id, "deliveries": accepted.deliveries}, 202


@bp.post("/events/batch")
def ingest_batch():
    """1 to 100 events, all or nothing; a refusal is the first refused item's, its field
    prefixed with `events[i].` (SPEC §3)."""
    data = json_object(4 * current_app.config["WEBHOOKS_MAX_EVENT_BYTES"])
    token = require("events:write")
    for name in data:
        if name != "events":
            raise Invalid(f"unknown field {name!r}", name)
    items = data.get("events")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise Invalid(f"events must be a list of 1 to {MAX_BATCH} events", "events")
    now = app_now()
    submissions = [_batch_item(token, i, item, now) for i, item in enumerate(items)]
    return {"items": [{"eventId": a.event_id, "deliveries": a.deliveries,
                       "replayed": a.replayed} for a in _store(submissions, now)]}, 202


MAX_BATCH = 100


def _batch_item(token, index: int, item, now) -> Submission:
    try:
        key = None
        if isinstance(item, dict) and "idempotencyKey" in item:
            item = dict(item)
            key = _key(item.pop("idempotencyKey"), "idempotencyKey")
        return _submission(token, item, key, now)
    except DomainError as exc:
        field = f"events[{index}]" + (f".{exc.field}" if exc.field else "")
        raise type(exc)(exc.message, field, exc.code) from None


def _submission(token, data, key: str | None, now) -> Submission:
    """One event, checked in SPEC §3's order after the token: its body (422), the token's
    projects (403), the project (404)."""
    project_id, body = validate(data, now)
    if not token.reaches(project_id):
        raise Forbidden(f"the API token may not send events for project {project_id}",
                        "goalId")
    if db.session.scalar(_PROJECT_EXISTS, {"project_id": project_id}) is None:
        raise NotFound(f"no project {project_id}", "goalId")
    return Submission(project_id, body, key)


def _store(submissions: list[Submission], now) -> list:
    """Hand the events to this process's ingest writer; wake the scheduler for new work."""
    db.session.rollback()  # end the request's reads (and any lock) before waiting
    accepted = current_app.extensions["ingest_writer"].store(submissions, now)
    if any(not a.replayed and a.deliveries for a in accepted):
        wake(current_app)
    return accepted


def _key(key, field: str) -> str | None:
    """An Idempotency-Key: 1 to 255 printable characters."""
    if key is None:
        return None
    if (not isinstance(key, str) or not 1 <= len(key) <= 255
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key)):
        raise Invalid(f"{field} must be 1 to 255 printable characters", field)
    return key
