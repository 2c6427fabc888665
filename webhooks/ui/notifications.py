"""A project's notifications (SPEC §9): who is told, the operational webhook, recent notices,
and the administrators' mail test."""
from __future__ import annotations

from email.message import EmailMessage

from flask import Blueprint, current_app, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import manage
from ..exceptions import Invalid
from ..extensions import app_now, db
from ..mail import MailError
from ..models import Notice
from ..notify import failing_mark, recipients
from ..scheduler import mailer_for
from .common import admin_required, is_htmx, project_or_404, render

bp = Blueprint("notifications", __name__)

RECENT = 50


def _page(project, status: int = 200, **context):
    notices = db.session.scalars(select(Notice).where(Notice.project_id == project.id)
                                 .order_by(Notice.id.desc()).limit(RECENT))
    threshold = current_app.config["WEBHOOKS_MAX_CONSECUTIVE_FAILURES"]
    return render("notifications/page.html", status, project=project, notices=list(notices),
                  mail_on=current_app.config["WEBHOOKS_SMTP_URL"] is not None,
                  recipients=recipients(db.session, project.id), threshold=threshold,
                  failing_at=failing_mark(threshold), **{"errors": {}, "form": {}, **context})


@bp.get("/projects/<int:project_id>/notifications")
@login_required
def show_notifications(project_id: int):
    return _page(project_or_404(project_id))


@bp.post("/projects/<int:project_id>/notifications/url")
@admin_required
def set_notify_url(project_id: int):
    """Set, change or clear the operational webhook; a new URL's secret is shown once."""
    project = project_or_404(project_id)
    raw = request.form.get("notify_url", "")
    try:
        secret = manage.set_notify_url(project, current_app.extensions["secret_box"],
                                       current_app.extensions["host_policy"], raw, app_now(),
                                       field="notify_url")
    except Invalid as exc:
        db.session.rollback()
        return _page(project, 422, errors={exc.field: exc.message}, form=request.form)
    db.session.commit()
    return _page(project, secret=secret, saved=True)


@bp.post("/admin/mail-test")
@admin_required
def mail_test():
    """Send a test email to yourself, now, and say what happened."""
    mailer = mailer_for(current_app)
    if mailer is None:
        result = {"ok": False, "text": "Mail is off: set WEBHOOKS_SMTP_URL and restart."}
    else:
        message = EmailMessage()
        message["Subject"] = "Test email from Webhooks"
        message["From"] = current_app.config["WEBHOOKS_MAIL_FROM"]
        message["To"] = current_user.email
        message.set_content("Mail from the webhooks service works: notices of failing and "
                            "deactivated webhooks will reach you.\n")
        try:
            mailer.send(message)
            result = {"ok": True, "text": f"Sent a test email to {current_user.email}."}
        except MailError as exc:
            result = {"ok": False, "text": f"The test email was not sent: {exc}"}
    if is_htmx():
        return render("notifications/_mail_test.html", result=result)
    project = project_or_404(int(request.form.get("project_id", "0") or 0))
    return _page(project, mail_result=result)
