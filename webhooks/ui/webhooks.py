"""The webhooks page of a project (SPEC §7): list, add, edit, toggle, test, rotate, delete.

One row partial (`webhooks/_row.html`, a `<tbody>` per webhook) serves the first render and
every update; forms answer 422 with themselves and the errors inline (the htmx config swaps 422).
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import select

from .. import manage
from ..events import EVENT_GROUPS
from ..exceptions import Invalid
from ..extensions import app_now, db, host_policy
from ..models import Delivery, Webhook
from ..scheduler import sender_for
from .common import is_htmx, project_or_404, render, webhook_or_404

bp = Blueprint("webhooks", __name__)

EVENT_GROUP_LIST = list(EVENT_GROUPS.items())
RECENT = 50  # deliveries in the recent-outcomes strip
_PREFIX_RE = re.compile(r"^(w\d{1,18}-)?$")


@bp.context_processor
def _helpers() -> dict:
    settings = current_app.config["DELIVERY"]
    return {"event_groups": EVENT_GROUP_LIST, "threshold": settings.max_consecutive_failures,
            "ago": ago, "utc": utc}


def utc(moment: datetime) -> str:
    """An absolute time for people: `2026-03-22 12:00 UTC`."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def ago(moment: datetime) -> str:
    """A relative time by the app's clock: `just now`, `5 min ago`, `3 h ago`, `2 days ago`."""
    seconds = (app_now() - moment).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'' if days == 1 else 's'} ago"


def recent_deliveries(webhook_id: int) -> list[Delivery]:
    """The webhook's last deliveries, oldest first (one index range scan)."""
    rows = db.session.scalars(select(Delivery).where(Delivery.webhook_id == webhook_id)
                              .order_by(Delivery.id.desc()).limit(RECENT))
    return list(reversed(list(rows)))


def _row(webhook: Webhook, status: int = 200, **extra):
    """The row partial for one webhook; `extra` adds `shown_secret` or `test_result` below it."""
    response = render("webhooks/_row.html", status, w=webhook,
                      recent=recent_deliveries(webhook.id), **extra)
    if "shown_secret" in extra:
        response.headers["Cache-Control"] = "no-store"
    return response


def _form_values() -> tuple[str, list[str], bool]:
    return (request.form.get("url", ""), request.form.getlist("events"),
            request.form.get("standard_webhooks") == "on")


def _attempt(action) -> tuple[object, dict]:
    """Run a create or update; return its result and every error of the form ({} if none).

    The rules check the URL (DNS included) before the events and stop at the first error, so
    after a URL error the events are checked here too: both errors show at once.
    """
    try:
        return action(), {}
    except Invalid as exc:
        errors = {exc.field or "url": exc.message}
    try:
        manage.parse_events(request.form.getlist("events"))
    except Invalid as exc:
        errors.setdefault("events", exc.message)
    db.session.rollback()
    return None, errors


def _fragment_only(project_id: int):
    """Fragments are for htmx; a browser that asks for one directly gets the page."""
    response = redirect(url_for("ui.webhooks.list_webhooks", project_id=project_id))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/projects/<int(signed=True):project_id>/webhooks")
@login_required
def list_webhooks(project_id: int):
    """The page: every webhook of the project with its state and recent outcomes."""
    project = project_or_404(project_id)
    webhooks = db.session.scalars(select(Webhook).where(Webhook.project_id == project.id)
                                  .order_by(Webhook.id))
    rows = [(w, recent_deliveries(w.id)) for w in webhooks]
    response = render("webhooks/list.html", project=project, rows=rows)
    response.headers["Cache-Control"] = "no-store"  # no back-button copy of a shown secret
    return response


@bp.get("/projects/<int(signed=True):project_id>/webhooks/new")
@login_required
def new_webhook(project_id: int):
    """The "Add Webhook" form."""
    project = project_or_404(project_id)
    if not is_htmx():
        return _fragment_only(project.id)
    return render("webhooks/_add.html", project=project, form={}, selected=[], errors={})


@bp.get("/projects/<int(signed=True):project_id>/webhooks/check-url")
@login_required
def check_url(project_id: int):
    """Inline validation while typing: the URL's error, or nothing."""
    project = project_or_404(project_id)
    if not is_htmx():
        return _fragment_only(project.id)
    prefix, error = request.args.get("prefix", ""), None
    try:
        manage.parse_url(request.args.get("url", ""), host_policy())
    except Invalid as exc:
        error = exc.message
    return render("webhooks/_url_error.html", error=error,
                  prefix=prefix if _PREFIX_RE.match(prefix) else "")


@bp.post("/projects/<int(signed=True):project_id>/webhooks")
@login_required
def create_webhook(project_id: int):
    """Add a webhook; answer its secret (shown only this once) and its new row."""
    project = project_or_404(project_id)
    url, events, standard = _form_values()
    created, errors = _attempt(lambda: manage.create_webhook(
        db.session, current_app.extensions["secret_box"], host_policy(), project, url, events,
        app_now(), standard))
    if errors:
        return render("webhooks/_add.html", 422, project=project, form=request.form,
                      selected=events, errors=errors)
    webhook, secret = created
    db.session.commit()
    response = render("webhooks/_created.html", project=project, w=webhook, recent=[],
                      secret=secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/webhooks/<int:webhook_id>")
@login_required
def show_webhook(webhook_id: int):
    """One webhook's row (after Cancel, or to hide a secret or a test result)."""
    webhook = webhook_or_404(webhook_id)
    if not is_htmx():
        return _fragment_only(webhook.project_id)
    return _row(webhook)


@bp.get("/webhooks/<int:webhook_id>/edit")
@login_required
def edit_webhook(webhook_id: int):
    """The row turned into a form for the URL and the events."""
    webhook = webhook_or_404(webhook_id)
    if not is_htmx():
        return _fragment_only(webhook.project_id)
    form = {"url": webhook.url, "standard_webhooks": "on" if webhook.standard_webhooks else ""}
    return render("webhooks/_edit.html", w=webhook, form=form, selected=webhook.event_list,
                  errors={})


@bp.put("/webhooks/<int:webhook_id>")
@login_required
def update_webhook(webhook_id: int):
    """Save the URL and the events; answer the row, or the form with its errors."""
    webhook = webhook_or_404(webhook_id)
    url, events, standard = _form_values()
    _, errors = _attempt(lambda: manage.update_webhook(webhook, host_policy(), app_now(),
                                                       url=url, events=events,
                                                       standard_webhooks=standard))
    if errors:
        return render("webhooks/_edit.html", 422, w=webhook, form=request.form,
                      selected=events, errors=errors)
    db.session.commit()
    return _row(webhook)


@bp.post("/webhooks/<int:webhook_id>/active")
@login_required
def toggle_webhook(webhook_id: int):
    """Turn on or off (`active=on|off`, so a double click cannot undo itself)."""
    webhook = webhook_or_404(webhook_id)
    wanted = request.form.get("active")
    if wanted not in ("on", "off"):
        abort(400)
    manage.update_webhook(webhook, host_policy(), app_now(), active=wanted == "on")
    db.session.commit()
    return _row(webhook)


@bp.post("/webhooks/<int:webhook_id>/test")
@login_required
def test_webhook(webhook_id: int):
    """Send a `webhook.test` delivery now; show its HTTP code, time and error in the row."""
    webhook = webhook_or_404(webhook_id)
    delivery = manage.send_test(db.session, webhook, current_app.extensions["secret_box"],
                                sender_for(current_app), current_app.config["DELIVERY"], app_now)
    return _row(webhook, test_result=delivery)


@bp.post("/webhooks/<int:webhook_id>/rotate-secret")
@login_required
def rotate_secret(webhook_id: int):
    """Replace the secret at once; the new one is shown in the row, only this once."""
    webhook = webhook_or_404(webhook_id)
    secret = manage.rotate_secret(webhook, current_app.extensions["secret_box"], app_now())
    db.session.commit()
    return _row(webhook, shown_secret=secret)


@bp.delete("/webhooks/<int:webhook_id>")
@login_required
def delete_webhook(webhook_id: int):
    """Delete the webhook and its delivery history; the empty answer removes the row."""
    manage.delete_webhook(db.session, webhook_or_404(webhook_id))
    db.session.commit()
    response = current_app.response_class("", 200)
    response.headers["Vary"] = "HX-Request"
    return response
