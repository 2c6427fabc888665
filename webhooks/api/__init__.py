"""The JSON API under /api/v1 (SPEC §3 and §5)."""
from flask import Blueprint, request

from ..errors import ApiError
from . import deliveries, events, openapi, projects, webhooks

bp = Blueprint("api", __name__, url_prefix="/api/v1")
children = [module.bp for module in (events, projects, webhooks, deliveries, openapi)]
for child in children:
    bp.register_blueprint(child)

# Query parameters each endpoint understands; anything else is a typo worth a 422.
QUERY = {
    "api.projects.list_projects": {"limit", "cursor"},
    "api.webhooks.list_webhooks": {"limit", "cursor"},
    "api.deliveries.list_deliveries": {"limit", "cursor", "status"},
}


@bp.before_request
def refuse_unknown_query_parameters():
    allowed = QUERY.get(request.endpoint or "", set())
    for name in request.args:
        if name not in allowed:
            raise ApiError(422, f"unknown query parameter {name!r}", name)
