"""/api/v1/.../webhooks: create, list, read, change, delete, rotate, test, send an event
type's example (SPEC §5; the example: issue 14's event catalogue)."""
from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import select

from .. import manage
from ..exceptions import Invalid
from ..extensions import app_now, db, host_policy
from ..models import Webhook
from ..scheduler import sender_for
from . import serialize
from .common import json_object, page, page_args, project_or_404, require, webhook_or_404

bp = Blueprint("webhooks", __name__)
NO_STORE = {"Cache-Control": "no-store"}  # an answer showing a secret: no cache keeps a copy


@bp.get("/projects/<project_id>/webhooks")
def list_webhooks(project_id: str):
    token = require("webhooks:read")
    project = project_or_404(token, project_id)
    limit, after = page_args()
    query = select(Webhook).where(Webhook.project_id == project.id).order_by(Webhook.id)
    if after is not None:
        query = query.where(Webhook.id > after)
    return page(list(db.session.scalars(query.limit(limit + 1))), limit, serialize.webhook)


@bp.post("/projects/<project_id>/webhooks")
def create_webhook(project_id: str):
    token = require("webhooks:write")
    project = project_or_404(token, project_id)
    data = json_object(fields={"url", "events", "standardWebhooks"})
    for field in ("url", "events"):
        if field not in data:
            raise Invalid(f"{field} is required", field)
    webhook, secret = manage.create_webhook(
        db.session, current_app.extensions["secret_box"], host_policy(), project,
        data["url"], data["events"], app_now(), data.get("standardWebhooks", False))
    db.session.commit()
    return {**serialize.webhook(webhook), "secret": secret}, 201, NO_STORE


@bp.get("/webhooks/<webhook_id>")
def get_webhook(webhook_id: str):
    token = require("webhooks:read")
    return serialize.webhook(webhook_or_404(token, webhook_id))


@bp.patch("/webhooks/<webhook_id>")
def update_webhook(webhook_id: str):
    token = require("webhooks:write")
    webhook = webhook_or_404(token, webhook_id)
    data = json_object(fields={"url", "events", "active", "standardWebhooks"})
    for key, value in data.items():
        if value is None:  # null would otherwise read as "leave unchanged"
            raise Invalid(f"{key} must not be null", key)
    manage.update_webhook(webhook, host_policy(), app_now(), url=data.get("url"),
                          events=data.get("events"), active=data.get("active"),
                          standard_webhooks=data.get("standardWebhooks"))
    db.session.commit()
    return serialize.webhook(webhook)


@bp.delete("/webhooks/<webhook_id>")
def delete_webhook(webhook_id: str):
    token = require("webhooks:write")
    manage.delete_webhook(db.session, webhook_or_404(token, webhook_id))
    db.session.commit()
    return "", 204


@bp.post("/webhooks/<webhook_id>/rotate-secret")
def rotate_secret(webhook_id: str):
    token = require("webhooks:write")
    webhook = webhook_or_404(token, webhook_id)
    secret = manage.rotate_secret(webhook, current_app.extensions["secret_box"], app_now())
    db.session.commit()
    return {"secret": secret}, 200, NO_STORE


@bp.post("/webhooks/<webhook_id>/test")
def test_webhook(webhook_id: str):
    token = require("webhooks:write")
    webhook = webhook_or_404(token, webhook_id)
    delivery = manage.send_test(db.session, webhook, current_app.extensions["secret_box"],
                                sender_for(current_app), current_app.config["DELIVERY"], app_now)
    return _sent(delivery)


@bp.post("/webhooks/<webhook_id>/example")
def send_example(webhook_id: str):
    """Send the example of `{"event": ...}` now (manage.send_example): answered like a test."""
    token = require("webhooks:write")
    webhook = webhook_or_404(token, webhook_id)
    event = json_object(fields={"event"}).get("event")
    delivery = manage.send_example(db.session, webhook, current_app.extensions["secret_box"],
                                   sender_for(current_app), current_app.config["DELIVERY"],
                                   app_now, event)
    return _sent(delivery)


def _sent(delivery) -> dict:
    """A one-off send's delivery, with its attempt's duration and error."""
    return {"delivery": {**serialize.delivery(delivery), "durationMs": delivery.duration_ms,
                         "error": delivery.last_error}}
