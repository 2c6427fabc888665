"""/api/v1/projects: list, create, read, rename, delete (SPEC §5)."""
from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import select

from .. import manage
from ..exceptions import Invalid
from ..extensions import app_now, db
from ..models import Project
from . import serialize
from .common import json_object, page, page_args, project_or_404, reachable, require

bp = Blueprint("projects", __name__)


@bp.get("/projects")
def list_projects():
    token = require("webhooks:read")
    limit, after = page_args()
    query = select(Project).order_by(Project.id).limit(limit + 1)
    allowed = reachable(token)
    if allowed is not None:
        query = query.where(Project.id.in_(allowed))
    if after is not None:
        query = query.where(Project.id > after)
    return page(list(db.session.scalars(query)), limit, serialize.project)


@bp.post("/projects")
def create_project():
    require("projects:write")
    data = json_object(fields={"id", "name"})
    if isinstance(data.get("id"), bool) or not isinstance(data.get("id"), int):
        raise Invalid("id must be an integer (the host app's goalId)", "id")
    project = manage.create_project(db.session, data.get("id"), data.get("name"), app_now())
    db.session.commit()
    return serialize.project(project), 201


@bp.get("/projects/<project_id>")
def get_project(project_id: str):
    token = require("webhooks:read")
    return serialize.project(project_or_404(token, project_id))


@bp.patch("/projects/<project_id>")
def update_project(project_id: str):
    token = require("projects:write")
    project = project_or_404(token, project_id)
    data = json_object(fields={"name", "notifyUrl"})
    secret = None
    if "name" in data:
        project.name = manage.parse_name(data["name"])
        project.updated_at = app_now()
    if "notifyUrl" in data:
        raw = data["notifyUrl"]
        if raw is not None and not isinstance(raw, str):
            raise Invalid("notifyUrl must be a URL or null", "notifyUrl")
        secret = manage.set_notify_url(project, current_app.extensions["secret_box"],
                                       current_app.extensions["host_policy"], raw, app_now())
    db.session.commit()
    answer = serialize.project(project)
    return answer if secret is None else {**answer, "notifySecret": secret}


@bp.delete("/projects/<project_id>")
def delete_project(project_id: str):
    token = require("projects:write")
    manage.delete_project(db.session, project_or_404(token, project_id))
    db.session.commit()
    return "", 204

