"""The JSON API under /api/v1 (SPEC §3 and §5)."""
from flask import Blueprint

from . import deliveries, events, openapi, projects, webhooks

bp = Blueprint("api", __name__, url_prefix="/api/v1")
children = [module.bp for module in (events, projects, webhooks, deliveries, openapi)]
for child in children:
    bp.register_blueprint(child)
