"""What every API view needs: the caller's token, JSON bodies, pages, and visibility."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from .. import auth
from ..errors import ApiError
from ..events import parse_json
from ..extensions import app_now, db
from ..history import decode_cursor, encode_cursor
from ..models import ApiToken, Delivery, Project, Webhook

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


def bearer_token() -> ApiToken:
    """The live token of this request, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "send an API token as 'Authorization: Bearer <token>'")
    token = auth.authenticate_token(db.session, value.strip(), app_now())
    if token is None:
        raise ApiError(401, "the API token is unknown, expired or revoked")
    return token


# Query parameters each endpoint understands; anything else is a typo worth a 422.
QUERY = {
    "api.projects.list_projects": {"limit", "cursor"},
    "api.webhooks.list_webhooks": {"limit", "cursor"},
    "api.deliveries.list_deliveries": {"limit", "cursor", "status"},
}


def require(scope: str) -> ApiToken:
    """The request's token, which must carry `scope` (else 401 or 403).

    Then, since the caller is known, unknown query parameters are refused (422).
    """
    token = bearer_token()
    if scope not in token.scope_set:
        raise ApiError(403, f"the API token lacks the {scope} scope")
    if scope == "projects:write" and not token.user.is_admin:
        raise ApiError(403, "projects:write works only with an administrator's token")
    allowed = QUERY.get(request.endpoint or "", set())
    for name in request.args:
        if name not in allowed:
            raise ApiError(422, f"unknown query parameter {name!r}", name)
    return token


def json_object(max_bytes: int = 1024 * 1024) -> dict:
    """The request body as a JSON object, or a 413/400."""
    raw = read_body(max_bytes)
    try:
        data = parse_json(raw)
    except ValueError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_json")
    return data


def read_body(max_bytes: int) -> bytes:
    """Read the body, refusing more than `max_bytes` with a 413 before reading it all."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, f"the body is larger than {max_bytes} bytes")
    return raw


def reachable(token: ApiToken) -> set[int] | None:
    return auth.token_project_ids(db.session, token)


def project_or_404(token: ApiToken, project_id: int) -> Project:
    allowed = reachable(token)
    project = db.session.get(Project, project_id)
    if project is None or (allowed is not None and project_id not in allowed):
        raise ApiError(404, f"no project {project_id}")
    return project


def webhook_or_404(token: ApiToken, webhook_id: int) -> Webhook:
    if not -(2 ** 31) <= webhook_id < 2 ** 31:  # webhooks.id is a 32-bit INTEGER
        raise ApiError(404, f"no webhook {webhook_id}")
    webhook = db.session.get(Webhook, webhook_id)
    allowed = reachable(token)
    if webhook is None or (allowed is not None and webhook.project_id not in allowed):
        raise ApiError(404, f"no webhook {webhook_id}")
    return webhook


def delivery_or_404(token: ApiToken, delivery_id: int) -> tuple[Delivery, Webhook]:
    row = db.session.execute(select(Delivery, Webhook)
                             .join(Webhook, Webhook.id == Delivery.webhook_id)
                             .where(Delivery.id == delivery_id)).first()
    allowed = reachable(token)
    if row is None or (allowed is not None and row[1].project_id not in allowed):
        raise ApiError(404, f"no delivery {delivery_id}")
    return row[0], row[1]


def page_args() -> tuple[int, int | None]:
    """`limit` and the decoded `cursor` of a list request (422 when out of range)."""
    raw_limit = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(422, f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    cursor = request.args.get("cursor")
    if not cursor:
        return limit, None
    try:
        return limit, decode_cursor(cursor)
    except ValueError:
        raise ApiError(422, "the cursor is not one this API handed out", "cursor") from None


def page(rows: list, limit: int, serialize) -> dict:
    """`{"items": [...], "nextCursor": ...}` from up to limit+1 rows."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1].id) if more and rows else None}


def path_id(raw: str, what: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(404, f"no {what} {raw}") from None
    if not -(2 ** 63) <= value < 2 ** 63:
        raise ApiError(404, f"no {what} {raw}")
    return value
