"""POST /api/v1/events: the ingest endpoint (SPEC §3)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select

from .. import auth
from ..events import validate
from ..exceptions import Forbidden, Invalid, NotFound
from ..extensions import app_now, db
from ..ingest import store_event
from ..models import Project
from ..scheduler import wake
from .common import json_object, require

bp = Blueprint("events", __name__)


@bp.post("/events")
def ingest_event():
    """Validate, store the event with its deliveries, answer 202; checks in SPEC order."""
    data = json_object(current_app.config["WEBHOOKS_MAX_EVENT_BYTES"])
    token = require("events:write")
    key = _idempotency_key()
    now = app_now()
    project_id, body = validate(data, now)
    if not auth.can_reach(db.session, token, project_id):
        raise Forbidden(f"the API token may not send events for project {project_id}",
                        "goalId")
    if db.session.scalar(select(Project.id).where(Project.id == project_id)) is None:
        raise NotFound(f"no project {project_id}", "goalId")
    accepted = store_event(db.session, project_id, body, now, key)
    if not accepted.replayed and accepted.deliveries:
        wake(current_app)
    return {"eventId": accepted.event_id, "deliveries": accepted.deliveries}, 202


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise Invalid("Idempotency-Key must be 1 to 255 printable characters",
                      "Idempotency-Key")
    return key
