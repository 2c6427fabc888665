"""/api/v1 deliveries: history with filter and cursor, detail, manual retry (SPEC §5)."""
from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select

from .. import manage
from ..extensions import app_now
from ..errors import ApiError
from ..extensions import db
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Event
from ..scheduler import wake
from . import serialize
from .common import delivery_or_404, page, page_args, path_id, require, webhook_or_404

bp = Blueprint("deliveries", __name__)
STATUSES = tuple(s.value for s in DeliveryStatus)


@bp.get("/webhooks/<webhook_id>/deliveries")
def list_deliveries(webhook_id: str):
    token = require("webhooks:read")
    webhook = webhook_or_404(token, path_id(webhook_id, "webhook"))
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}", "status")
    limit, before = page_args()
    query = (select(Delivery).where(Delivery.webhook_id == webhook.id)
             .order_by(Delivery.id.desc()).limit(limit + 1))
    if status:
        query = query.where(Delivery.status == status)
    if before is not None:
        query = query.where(Delivery.id < before)
    return page(list(db.session.scalars(query)), limit, serialize.delivery)


@bp.get("/deliveries/<delivery_id>")
def get_delivery(delivery_id: str):
    token = require("webhooks:read")
    delivery, _ = delivery_or_404(token, path_id(delivery_id, "delivery"))
    body = db.session.scalar(select(Event.body).where(Event.id == delivery.event_id))
    attempts = list(db.session.scalars(select(DeliveryAttempt)
                                       .where(DeliveryAttempt.delivery_id == delivery.id)
                                       .order_by(DeliveryAttempt.id)))
    return serialize.delivery_detail(delivery, body, attempts)


@bp.post("/deliveries/<delivery_id>/retry")
def retry_delivery(delivery_id: str):
    token = require("webhooks:write")
    delivery, webhook = delivery_or_404(token, path_id(delivery_id, "delivery"))
    try:
        manage.retry_delivery(db.session, delivery, webhook, app_now())
    except manage.Conflict as exc:
        raise ApiError(409, str(exc)) from None
    db.session.commit()
    wake(current_app)
    return serialize.delivery(delivery)
