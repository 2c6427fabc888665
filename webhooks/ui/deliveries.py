"""The deliveries page of a webhook (SPEC §7): history by status, payload and attempt log, retry,
resend, and retrying the failed deliveries of a time window.

One URL answers the whole page or, to htmx, a fragment (`Vary: HX-Request`). A delivery is one
`<tbody>` (deliveries/_row.html): its summary row, and its detail when opened. That partial
serves the first render, the click that opens or closes it, the pending row's own polling and
the answer to a retry or resend. Pages are keyset pages, newest first, never counted, never
offset.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import login_required

from .. import manage
from ..clock import parse_since
from ..events import TEST_EVENT
from ..exceptions import Conflict
from ..extensions import app_now, db
from ..history import attempt_log, decode_cursor, deliveries_page, encode_cursor, event_body
from ..models import Delivery, DeliveryStatus, Project, Webhook
from ..scheduler import wake
from ..trends import webhook_trends
from .charts import trend_context
from .common import (
    cursor_or_404,
    delivery_or_404,
    is_htmx,
    pretty_json,
    render,
    utc_field,
    webhook_or_404,
)

bp = Blueprint("deliveries", __name__)

PAGE_SIZE = 50
FILTERS = (("", "All"), *((s.value, s.value.title()) for s in DeliveryStatus))
# "Retry failed": which failed deliveries, by when they were created. An age is read by
# clock.parse_since, as `flask deliveries retry-failed --since` reads it.
WINDOWS = (("", "Any time"), ("1h", "Last hour"), ("24h", "Last 24 hours"),
           ("7d", "Last 7 days"), ("custom", "Between…"))


def _render(template: str, code: int = 200, **context):
    return render(template, code, test_event=TEST_EVENT, filters=FILTERS, windows=WINDOWS,
                  **context)


def _status_filter() -> str | None:
    """The `status` filter of the query or form; an unknown one is a 404."""
    status = request.values.get("status") or None
    if status is not None and status not in tuple(DeliveryStatus):
        abort(404)
    return status


def _history(webhook: Webhook, status: str | None, before: int | None = None) -> dict:
    """One keyset page of the webhook's deliveries, newest first, and the next page's URL."""
    rows, after = deliveries_page(db.session, webhook.id, status, before, PAGE_SIZE)
    more_url = None if after is None else url_for(
        ".list_deliveries", webhook_id=webhook.id, status=status, cursor=encode_cursor(after))
    return {"webhook": webhook, "status_filter": status, "deliveries": rows, "more_url": more_url,
            "before": before}


def _detail(delivery: Delivery) -> dict:
    """The pretty-printed payload and the attempt log, oldest first."""
    return {"payload": pretty_json(event_body(db.session, delivery)),
            "attempts": attempt_log(db.session, delivery)}


def _row(delivery: Delivery, webhook: Webhook, expanded: bool, message: str | None = None,
         code: int = 200, refused: str = "retried"):
    """The delivery's own partial, closed or opened; `message` says why it was not `refused`."""
    detail = _detail(delivery) if expanded else {}
    return _render("deliveries/_row.html", code, d=delivery, webhook=webhook,
                   expanded=expanded, message=message, refused=refused, **detail)


def _page(delivery: Delivery, webhook: Webhook, message: str | None = None, code: int = 200,
          refused: str = "retried"):
    """The delivery on a page of its own, opened (links work without JavaScript)."""
    project = db.session.get(Project, webhook.project_id)
    return _render("deliveries/detail.html", code, project=project, d=delivery, webhook=webhook,
                   expanded=True, message=message, refused=refused, **_detail(delivery))


def _show_history(webhook: Webhook, status: str | None, before: int | None = None,
                  code: int = 200, notice: dict | None = None, **window):
    """The history page; to htmx, the history section (filter) or more rows (cursor).
    `window` keeps the "Retry failed" form as sent (`window_form`, `window_errors`)."""
    context = _history(webhook, status, before)
    if is_htmx():
        template = "deliveries/_rows.html" if before else "deliveries/_history.html"
        return _render(template, code, notice=notice, **window, **context)
    project = db.session.get(Project, webhook.project_id)
    trends = trend_context(webhook_trends(db.session, webhook.id, app_now()), "of this webhook")
    return _render("deliveries/list.html", code, notice=notice, project=project, **window,
                   **context, **trends)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@login_required
def list_deliveries(webhook_id: int):
    """A webhook's deliveries, newest first, perhaps of one status, from a cursor on."""
    webhook = webhook_or_404(webhook_id)
    return _show_history(webhook, _status_filter(), cursor_or_404(decode_cursor))


@bp.get("/deliveries/<int:delivery_id>")
@login_required
def show_delivery(delivery_id: int):
    """To htmx, the delivery's row (`open=1`: with payload and attempts); else its page."""
    delivery, webhook = delivery_or_404(delivery_id)
    if is_htmx():
        return _row(delivery, webhook, request.args.get("open") == "1")
    return _page(delivery, webhook)


def _restart(delivery_id: int, rule, refused: str):
    """A fresh cycle of attempts by `rule` (manage.retry_delivery or resend_delivery); a
    refusal is shown beside the row (422), or on the delivery's page without JavaScript."""
    delivery, webhook = delivery_or_404(delivery_id)
    expanded = request.form.get("open") == "1"
    try:
        rule(db.session, delivery, webhook, app_now())
    except Conflict as exc:
        db.session.rollback()
        if is_htmx():
            return _row(delivery, webhook, expanded, str(exc), 422, refused)
        return _page(delivery, webhook, str(exc), 409, refused)
    db.session.commit()
    wake(current_app)
    if is_htmx():
        return _row(delivery, webhook, expanded)
    return redirect(url_for(".show_delivery", delivery_id=delivery.id), 303)


@bp.post("/deliveries/<int:delivery_id>/retry")
@login_required
def retry_delivery(delivery_id: int):
    """Start a fresh cycle of attempts for a failed delivery."""
    return _restart(delivery_id, manage.retry_delivery, "retried")


@bp.post("/deliveries/<int:delivery_id>/resend")
@login_required
def resend_delivery(delivery_id: int):
    """Send a final delivery again: a fresh cycle with the same delivery id (SPEC §4)."""
    return _restart(delivery_id, manage.resend_delivery, "resent")


def _window(form, now: datetime) -> tuple[datetime | None, datetime | None, dict]:
    """The "Retry failed" form's time window (since, until), and its errors by field."""
    choice, errors = form.get("since", ""), {}
    if choice != "custom":
        if choice not in dict(WINDOWS):
            return None, None, {"since": "choose one of the time windows"}
        return (parse_since(choice, now) if choice else None), None, errors
    since, until = utc_field(form, "from", errors), utc_field(form, "to", errors)
    if not errors and since is None and until is None:
        errors["from"] = "give a start, an end, or both"
    elif since is not None and until is not None and until <= since:
        errors["to"] = "the end must come after the start"
    return since, until, errors


def _window_text(form) -> str:
    """The chosen window in words: `in the last 24 hours`, `between … and … (UTC)`."""
    choice = form.get("since", "")
    if choice != "custom":
        return f"created in the {dict(WINDOWS)[choice].lower()}" if choice else "of any time"
    start, end = form.get("from", "").replace("T", " "), form.get("to", "").replace("T", " ")
    if start and end:
        return f"created between {start} and {end} (UTC)"
    return f"created since {start} (UTC)" if start else f"created before {end} (UTC)"


def _retried_text(count: int, form) -> str:
    if count:
        return f"{count} failed {'delivery' if count == 1 else 'deliveries'} queued for retry."
    if form.get("since"):
        return "There are no failed deliveries in that time window."
    return "There are no failed deliveries to retry."


@bp.post("/webhooks/<int:webhook_id>/deliveries/retry-failed")
@login_required
def retry_failed(webhook_id: int):
    """Retry the failed deliveries of the webhook, perhaps of a time window only; answers the
    history with a notice. htmx asks first (hx-confirm); without JavaScript a page does."""
    webhook, status, form = webhook_or_404(webhook_id), _status_filter(), request.form
    since, until, errors = _window(form, app_now())
    if errors:
        return _show_history(webhook, status, code=422, window_form=form, window_errors=errors)
    if webhook.active and not is_htmx() and form.get("confirmed") != "1":
        return _confirm_retry(webhook, form)
    try:
        count = manage.retry_failed(db.session, webhook, app_now(), since, until)
    except Conflict as exc:
        db.session.rollback()
        return _show_history(webhook, status, code=422 if is_htmx() else 409,
                             notice={"kind": "bad", "text": str(exc)}, window_form=form)
    db.session.commit()
    wake(current_app)
    return _retried(webhook, status, form, _retried_text(count, form))


def _retried(webhook: Webhook, status: str | None, form, text: str):
    """To htmx, the history with the count; else back to it, the count flashed."""
    if is_htmx():
        return _show_history(webhook, status, notice={"kind": "ok", "text": text},
                             window_form=form)
    flash(text)
    return redirect(url_for(".list_deliveries", webhook_id=webhook.id, status=status), 303)


def _confirm_retry(webhook: Webhook, form):
    """The confirmation step without JavaScript: the same form again, confirmed."""
    fields = {k: form.get(k, "") for k in ("status", "since", "from", "to")}
    back = url_for(".list_deliveries", webhook_id=webhook.id, status=form.get("status") or None)
    return _render("confirm.html", project=db.session.get(Project, webhook.project_id),
                   title="Retry failed deliveries?",
                   text=f"Retry every failed delivery of {webhook.url} {_window_text(form)} "
                        "(test and example sends excepted)? Each gets a fresh cycle of attempts.",
                   action=url_for(".retry_failed", webhook_id=webhook.id),
                   fields={**fields, "confirmed": "1"}, button="Retry them", back=back)
