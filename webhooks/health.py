"""GET /healthz: 200 when the database answers."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report the database and, where it runs, the scheduler's last tick."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # any failure to reach the database is a 503
        current_app.logger.warning("health check: database unreachable: %s", exc)
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    body = {"status": "ok", "database": "ok"}
    runner = current_app.extensions.get("webhooks_scheduler")
    if runner is not None:
        body["scheduler"] = runner.health()
    return jsonify(body)
