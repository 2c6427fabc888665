"""/api/v1 deliveries: history with filter and cursor, detail, manual retry (SPEC §5)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from .. import manage
from ..extensions import app_now, db
from ..history import attempt_log, deliveries_page, encode_cursor, event_body, parse_status
from ..scheduler import wake
from . import serialize
from .common import delivery_or_404, page_args, require, webhook_or_404

bp = Blueprint("deliveries", __name__)


@bp.get("/webhooks/<webhook_id>/deliveries")
def list_deliveries(webhook_id: str):
    token = require("webhooks:read")
    webhook = webhook_or_404(token, webhook_id)
    status = parse_status(request.args.get("status"))
    limit, before = page_args()
    rows, after = deliveries_page(db.session, webhook.id, status, before, limit)
    return {"items": [serialize.delivery(d) for d in rows],
            "nextCursor": None if after is None else encode_cursor(after)}


@bp.get("/deliveries/<delivery_id>")
def get_delivery(delivery_id: str):
    token = require("webhooks:read")
    delivery, _ = delivery_or_404(token, delivery_id)
    return serialize.delivery_detail(delivery, event_body(db.session, delivery),
                                     attempt_log(db.session, delivery))


@bp.post("/deliveries/<delivery_id>/retry")
def retry_delivery(delivery_id: str):
    token = require("webhooks:write")
    delivery, webhook = delivery_or_404(token, delivery_id)
    manage.retry_delivery(db.session, delivery, webhook, app_now())
    db.session.commit()
    wake(current_app)
    return serialize.delivery(delivery)


@bp.post("/deliveries/<delivery_id>/resend")
def resend_delivery(delivery_id: str):
    """A final delivery sent again as a fresh cycle, with the same delivery id (SPEC §4)."""
    token = require("webhooks:write")
    delivery, webhook = delivery_or_404(token, delivery_id)
    manage.resend_delivery(db.session, delivery, webhook, app_now())
    db.session.commit()
    wake(current_app)
    return serialize.delivery(delivery)
