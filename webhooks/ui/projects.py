"""The home page, the project list in the sidebar, and creating projects."""
from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

from .. import manage
from ..exceptions import Conflict, Invalid
from ..extensions import app_now, db
from .common import admin_required, render, visible_projects

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
