"""The HTMX web UI (SPEC §7): sessions, CSRF, and one blueprint per page family."""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import default_exceptions

from ..errors import handle_http_exception
from ..exceptions import DomainError
from . import (
    admin,
    auth,
    catalogue,
    deliveries,
    events,
    notifications,
    projects,
    tokens,
    webhooks,
)
from .common import sidebar_context

bp = Blueprint("ui", __name__)
for module in (auth, projects, webhooks, deliveries, events, catalogue, notifications, tokens,
               admin):
    bp.register_blueprint(module.bp)


def handle_domain_error(error: DomainError):
    """A rule's refusal that no form shows beside a field (an unknown or unseen id): the
    site's page for its status."""
    return handle_http_exception(default_exceptions[error.status]())


bp.register_error_handler(DomainError, handle_domain_error)

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Bind login sessions and CSRF protection; the JSON API uses bearer tokens instead."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's lifetime
    csrf.init_app(app)
    auth.login_manager.init_app(app)
    app.context_processor(sidebar_context)
    app.register_blueprint(bp)
