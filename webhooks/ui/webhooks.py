"""The webhooks page of a project (SPEC §7). Skeleton: filled in by the webhooks UI work."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Webhook
from .common import project_or_404, render

bp = Blueprint("webhooks", __name__)


@bp.get("/projects/<int:project_id>/webhooks")
@login_required
def list_webhooks(project_id: int):
    project = project_or_404(project_id)
    webhooks = list(db.session.scalars(select(Webhook).where(Webhook.project_id == project.id)
                                       .order_by(Webhook.id)))
    return render("webhooks/list.html", project=project, webhooks=webhooks)
