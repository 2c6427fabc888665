"""The JSON API under /api/v1 (SPEC §3 and §5)."""
from flask import Blueprint

from ..exceptions import DomainError
from . import deliveries, errors, event_log, events, openapi, projects, webhooks

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_error_handler(DomainError, errors.handle_domain_error)
children = [module.bp for module in (events, event_log, projects, webhooks, deliveries,
                                      openapi)]
for child in children:
    bp.register_blueprint(child)
