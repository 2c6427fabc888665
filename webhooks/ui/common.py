"""What every UI view needs: the signed-in user's projects, 404s for the rest, htmx helpers."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, make_response, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import auth
from ..delivery.hosts import HostPolicy
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


def _may_see(project_id: int) -> bool:
    allowed = auth.visible_project_ids(db.session, current_user)
    return allowed is None or project_id in allowed


def _fits(value: int, bits: int) -> bool:
    """Whether an id from the URL fits its column (PostgreSQL refuses larger ones)."""
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def project_or_404(project_id: int) -> Project:
    project = db.session.get(Project, project_id) if _fits(project_id, 64) else None
    if project is None or not _may_see(project.id):
        abort(404)
    return project


def webhook_or_404(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id) if _fits(webhook_id, 32) else None
    if webhook is None or not _may_see(webhook.project_id):
        abort(404)
    return webhook


def delivery_or_404(delivery_id: int) -> tuple[Delivery, Webhook]:
    delivery = db.session.get(Delivery, delivery_id) if _fits(delivery_id, 64) else None
    if delivery is None:
        abort(404)
    return delivery, webhook_or_404(delivery.webhook_id)


def admin_required(view):
    """Only administrators; others get a 404, as for anything they may not see."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def host_policy() -> HostPolicy:
    return HostPolicy.parse(current_app.config["WEBHOOKS_ALLOWED_HOSTS"])
