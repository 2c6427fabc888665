"""What every UI view needs: the signed-in user's projects, 404s for the rest, htmx helpers."""
from __future__ import annotations

from functools import wraps

from flask import abort, make_response, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import auth, lookup
from ..extensions import db
from ..models import Delivery, Project, User, Webhook


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


def admin_required(view):
    """Only administrators; others get a 404, as for anything they may not see."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


