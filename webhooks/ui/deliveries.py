"""The deliveries page of a webhook (SPEC §7). Skeleton: filled in by the deliveries UI work."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from ..extensions import db
from ..models import Project
from .common import render, webhook_or_404

bp = Blueprint("deliveries", __name__)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@login_required
def list_deliveries(webhook_id: int):
    webhook = webhook_or_404(webhook_id)
    project = db.session.get(Project, webhook.project_id)
    return render("deliveries/list.html", project=project, webhook=webhook)
