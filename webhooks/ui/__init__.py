"""The HTMX web UI (SPEC §7): sessions, CSRF, and one blueprint per page family."""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect

from . import admin, auth, deliveries, projects, tokens, webhooks
from .common import sidebar_context

bp = Blueprint("ui", __name__)
for module in (auth, projects, webhooks, deliveries, tokens, admin):
    bp.register_blueprint(module.bp)

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Bind login sessions and CSRF protection; the JSON API uses bearer tokens instead."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's lifetime
    csrf.init_app(app)
    auth.login_manager.init_app(app)
    app.context_processor(sidebar_context)
    app.register_blueprint(bp)
