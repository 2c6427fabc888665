"""The deliveries page of a webhook (SPEC §7): history by status, payload and attempt log, retry.

One URL answers the whole page or, to htmx, a fragment (`Vary: HX-Request`). A delivery is one
`<tbody>` (deliveries/_row.html): its summary row, and its detail when opened. That partial
serves the first render, the click that opens or closes it, the pending row's own polling and
the answer to a retry. Pages are keyset pages, newest first, never counted, never offset.
"""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import login_required

from .. import manage
from ..events import TEST_EVENT
from ..exceptions import Conflict
from ..extensions import app_now, db
from ..history import attempt_log, decode_cursor, deliveries_page, encode_cursor, event_body
from ..models import Delivery, DeliveryStatus, Project, Webhook
from ..scheduler import wake
from .common import delivery_or_404, is_htmx, render, webhook_or_404

bp = Blueprint("deliveries", __name__)

PAGE_SIZE = 50
FILTERS = (("", "All"), *((s.value, s.value.title()) for s in DeliveryStatus))


def _render(template: str, code: int = 200, **context):
    return render(template, code, test_event=TEST_EVENT, filters=FILTERS, **context)


def _status_filter() -> str | None:
    """The `status` filter of the query or form; an unknown one is a 404."""
    status = request.values.get("status") or None
    if status is not None and status not in tuple(DeliveryStatus):
        abort(404)
    return status


def _cursor() -> int | None:
    """The id below which the page starts (the API's opaque cursor); a bad one is a 404."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        return decode_cursor(raw)
    except ValueError:
        abort(404)


def _history(webhook: Webhook, status: str | None, before: int | None = None) -> dict:
    """One keyset page of the webhook's deliveries, newest first, and the next page's URL."""
    rows, after = deliveries_page(db.session, webhook.id, status, before, PAGE_SIZE)
    more_url = None if after is None else url_for(
        ".list_deliveries", webhook_id=webhook.id, status=status, cursor=encode_cursor(after))
    return {"webhook": webhook, "status_filter": status, "deliveries": rows, "more_url": more_url,
            "before": before}


def _detail(delivery: Delivery) -> dict:
    """The pretty-printed payload and the attempt log, oldest first."""
    body = event_body(db.session, delivery)
    try:
        payload = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        payload = body
    return {"payload": payload, "attempts": attempt_log(db.session, delivery)}


def _row(delivery: Delivery, webhook: Webhook, expanded: bool, message: str | None = None,
         code: int = 200):
    """The delivery's own partial, closed or opened."""
    detail = _detail(delivery) if expanded else {}
    return _render("deliveries/_row.html", code, d=delivery, webhook=webhook,
                   expanded=expanded, message=message, **detail)


def _page(delivery: Delivery, webhook: Webhook, message: str | None = None, code: int = 200):
    """The delivery on a page of its own, opened (links work without JavaScript)."""
    project = db.session.get(Project, webhook.project_id)
    return _render("deliveries/detail.html", code, project=project, d=delivery, webhook=webhook,
                   expanded=True, message=message, **_detail(delivery))


def _show_history(webhook: Webhook, status: str | None, before: int | None = None,
                  code: int = 200, notice: dict | None = None):
    """The history page; to htmx, the history section (filter) or more rows (cursor)."""
    context = _history(webhook, status, before)
    if is_htmx():
        template = "deliveries/_rows.html" if before else "deliveries/_history.html"
        return _render(template, code, notice=notice, **context)
    project = db.session.get(Project, webhook.project_id)
    return _render("deliveries/list.html", code, notice=notice, project=project, **context)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@login_required
def list_deliveries(webhook_id: int):
    """A webhook's deliveries, newest first, perhaps of one status, from a cursor on."""
    webhook = webhook_or_404(webhook_id)
    return _show_history(webhook, _status_filter(), _cursor())


@bp.get("/deliveries/<int:delivery_id>")
@login_required
def show_delivery(delivery_id: int):
    """To htmx, the delivery's row (`open=1`: with payload and attempts); else its page."""
    delivery, webhook = delivery_or_404(delivery_id)
    if is_htmx():
        return _row(delivery, webhook, request.args.get("open") == "1")
    return _page(delivery, webhook)


@bp.post("/deliveries/<int:delivery_id>/retry")
@login_required
def retry_delivery(delivery_id: int):
    """Start a fresh cycle of attempts; a refusal is shown beside the row (422)."""
    delivery, webhook = delivery_or_404(delivery_id)
    try:
        manage.retry_delivery(db.session, delivery, webhook, app_now())
    except Conflict as exc:
        db.session.rollback()
        if is_htmx():
            return _row(delivery, webhook, request.form.get("open") == "1", str(exc), 422)
        return _page(delivery, webhook, str(exc), 409)
    db.session.commit()
    wake(current_app)
    if is_htmx():
        return _row(delivery, webhook, request.form.get("open") == "1")
    return redirect(url_for(".show_delivery", delivery_id=delivery.id), 303)


@bp.post("/webhooks/<int:webhook_id>/deliveries/retry-failed")
@login_required
def retry_failed(webhook_id: int):
    """Retry every failed delivery of the webhook; answers the history with a notice."""
    webhook, status = webhook_or_404(webhook_id), _status_filter()
    try:
        count = manage.retry_failed(db.session, webhook, app_now())
    except Conflict as exc:
        db.session.rollback()
        return _show_history(webhook, status, code=422 if is_htmx() else 409,
                             notice={"kind": "bad", "text": str(exc)})
    db.session.commit()
    wake(current_app)
    if not is_htmx():
        return redirect(url_for(".list_deliveries", webhook_id=webhook.id, status=status), 303)
    text = (f"{count} failed {'delivery' if count == 1 else 'deliveries'} queued for retry."
            if count else "There are no failed deliveries to retry.")
    return _show_history(webhook, status, notice={"kind": "ok", "text": text})
