"""The home page, the project list in the sidebar, creating projects, and a project's
overview: its delivery trends (issue 13)."""
from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import manage
from ..exceptions import Conflict, Invalid
from ..extensions import app_now, db
from ..models import Webhook
from ..trends import Window, empty, last_24_hours_by_webhook, project_trends
from .charts import ms, trend_context
from .common import admin_required, project_or_404, render, visible_projects

bp = Blueprint("projects", __name__)


@bp.get("/")
@login_required
def index():
    """Go to the first project's webhooks, or show how to begin."""
    projects = visible_projects(current_user)
    if projects and not (current_user.is_admin and request.args.get("new")):
        return redirect(url_for("ui.webhooks.list_webhooks", project_id=projects[0].id))
    return render("projects/index.html", form={}, errors={})


@bp.post("/projects")
@admin_required
def create_project():
    form, errors = request.form, {}
    try:
        project = manage.create_project(db.session, form.get("id", ""), form.get("name", ""),
                                        app_now())
        db.session.commit()
        return redirect(url_for("ui.webhooks.list_webhooks", project_id=project.id))
    except Invalid as exc:
        errors[exc.field or "id"] = exc.message
    except Conflict as exc:
        errors["id"] = str(exc)
    db.session.rollback()
    return render("projects/index.html", 422, form=form, errors=errors)


@bp.get("/projects/<int:project_id>/overview")
@login_required
def overview(project_id: int):
    """The project's trends, summing its webhooks, and each webhook's last 24 hours."""
    project, now = project_or_404(project_id), app_now()
    webhooks = db.session.scalars(select(Webhook).where(Webhook.project_id == project.id)
                                  .order_by(Webhook.id))
    last_day = last_24_hours_by_webhook(db.session, project.id, now)
    nothing = empty(Window.HOURS_24, now)
    rows = [(w, last_day.get(w.id, nothing)) for w in webhooks]
    return render("projects/overview.html", project=project, rows=rows, ms=ms,
                  **trend_context(project_trends(db.session, project.id, now),
                                  "of this project's webhooks"))
