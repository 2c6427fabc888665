"""What every UI view needs: the signed-in user's projects, 404s for the rest, htmx helpers."""
from __future__ import annotations

import json
from datetime import datetime
from functools import wraps

from flask import abort, make_response, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import auth, lookup
from ..clock import parse_utc
from ..extensions import db
from ..models import Delivery, Event, Project, User, Webhook


def is_htmx() -> bool:
    """An htmx request wanting a fragment (a back-button history restore wants the page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(template: str, status: int = 200, **context):
    """Render, marking the response as varying with HX-Request (page or fragment)."""
    response = make_response(render_template(template, **context), status)
    response.vary.update(("HX-Request", "HX-History-Restore-Request"))
    return response


def visible_projects(user: User) -> list[Project]:
    """The projects a user may see, by id."""
    allowed = auth.visible_project_ids(db.session, user)
    query = select(Project).order_by(Project.id)
    if allowed is not None:
        query = query.where(Project.id.in_(allowed))
    return list(db.session.scalars(query))


def sidebar_context() -> dict:
    """Template context for the layout: the sidebar's projects."""
    if not current_user.is_authenticated:
        return {}
    return {"sidebar_projects": visible_projects(current_user)}


def _visible() -> set[int] | None:
    return auth.visible_project_ids(db.session, current_user)


def project_or_404(project_id: int) -> Project:
    return lookup.project(db.session, project_id, _visible())


def webhook_or_404(webhook_id: int) -> Webhook:
    return lookup.webhook(db.session, webhook_id, _visible())


def delivery_or_404(delivery_id: int) -> tuple[Delivery, Webhook]:
    return lookup.delivery(db.session, delivery_id, _visible())


def event_or_404(event_id: str) -> Event:
    return lookup.event(db.session, event_id, _visible())


def event_by_reference(text: str) -> tuple[Event, int | None]:
    """The event named by its id or a delivery's id, among the user's projects."""
    return lookup.event_by_reference(db.session, text, _visible())


def admin_required(view):
    """Only administrators; others get a 404, as for anything they may not see."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


UTC_HINT = "use a date and time such as 2026-03-22T12:00 (UTC)"


def utc_field(values, name: str, errors: dict) -> datetime | None:
    """A date-and-time field (a datetime-local input), read as UTC; None when empty. An
    unreadable one leaves its message in `errors` under its name."""
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_utc(raw)
    except ValueError:
        errors[name] = UTC_HINT
        return None


def pretty_json(text: str) -> str:
    """A JSON body indented for people (as it is, if it is not JSON)."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def cursor_or_404(decode):
    """Where a keyset page starts: the `cursor` query parameter (the API's opaque cursor) read
    by `decode`; None for the first page; a cursor this service did not hand out is a 404."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        return decode(raw)
    except ValueError:
        abort(404)
