"""A project's event catalogue (issue 14): the 18 events, when each fires, their body keys and
an example body (webhooks.catalogue, from the one event table), and "Send example": the
example posted now to one webhook of the project, like a test send (manage.send_example).

One URL: GET is the page, POST sends an example. To htmx the POST answers the outcome, shown
beside the event's button; without JavaScript it answers the page with the outcome there.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from flask_login import login_required
from sqlalchemy import select

from .. import manage
from ..catalogue import groups
from ..events import BY_NAME
from ..extensions import app_now, db
from ..models import Project, Webhook
from ..scheduler import sender_for
from .common import is_htmx, project_or_404, render, webhook_or_404

bp = Blueprint("catalogue", __name__)

NO_WEBHOOK = "choose a webhook of this project to send the example to"


def _page(project: Project, chosen: int | None, result: dict | None = None, code: int = 200):
    webhooks = list(db.session.scalars(select(Webhook).where(Webhook.project_id == project.id)
                                       .order_by(Webhook.id)))
    return render("catalogue/page.html", code, project=project, groups=groups(project.id),
                  webhooks=webhooks, chosen=chosen, result=result)


@bp.get("/projects/<int(signed=True):project_id>/events/catalogue")
@login_required
def show_catalogue(project_id: int):
    """The catalogue, its examples as this project's webhooks get them (`?webhook=ID`
    preselects the webhook to send them to)."""
    project = project_or_404(project_id)
    return _page(project, request.args.get("webhook", type=int))


@bp.post("/projects/<int(signed=True):project_id>/events/catalogue")
@login_required
def send_example(project_id: int):
    """Send the example of the form's `event` to its `webhook_id`, one of the project's, now;
    answer its HTTP code, time and error."""
    project = project_or_404(project_id)
    event = request.form.get("event", "")
    if event not in BY_NAME:
        abort(404)
    webhook = _chosen(project)
    if webhook is None:
        return _answer(project, None, {"event": event, "error": NO_WEBHOOK}, 422)
    delivery = manage.send_example(db.session, webhook, current_app.extensions["secret_box"],
                                   sender_for(current_app), current_app.config["DELIVERY"],
                                   app_now, event)
    return _answer(project, webhook.id, {"event": event, "delivery": delivery, "webhook": webhook})


def _chosen(project: Project) -> Webhook | None:
    """The form's webhook; None if none was chosen; 404 unless it is one of the project's."""
    raw = request.form.get("webhook_id", "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        abort(404)
    webhook = webhook_or_404(int(raw))
    if webhook.project_id != project.id:
        abort(404)
    return webhook


def _answer(project: Project, chosen: int | None, result: dict, code: int = 200):
    if is_htmx():
        return render("catalogue/_result.html", code, project=project, result=result)
    return _page(project, chosen, result, code)
