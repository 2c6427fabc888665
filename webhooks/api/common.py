"""What every API view needs: the caller's token, JSON bodies, pages, and visibility."""
from __future__ import annotations

from flask import request

from .. import auth, lookup
from ..auth import Caller
from ..events import parse_json
from ..exceptions import BadRequest, Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from ..extensions import app_now, db
from ..history import decode_cursor, encode_cursor
from ..models import Delivery, Project, Webhook

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


def bearer_token() -> Caller:
    """The caller of this request's live token, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    caller = auth.authenticate_token(db.session, value.strip(), app_now())
    if caller is None:
        raise Unauthorized("the API token is unknown, expired or revoked")
    return caller


# Query parameters each endpoint understands; anything else is a typo worth a 422.
QUERY = {
    "api.projects.list_projects": {"limit", "cursor"},
    "api.webhooks.list_webhooks": {"limit", "cursor"},
    "api.deliveries.list_deliveries": {"limit", "cursor", "status"},
    "api.event_log.list_events": {"limit", "cursor", "type", "since", "until", "status"},
}


def require(scope: str) -> Caller:
    """The request's token, which must carry `scope` (else 401 or 403).

    Then, since the caller is known, unknown query parameters are refused (422).
    """
    token = bearer_token()
    if scope not in token.scopes:
        raise Forbidden(f"the API token lacks the {scope} scope")
    if scope == "projects:write" and not token.is_admin:
        raise Forbidden("projects:write works only with an administrator's token")
    allowed = QUERY.get(request.endpoint or "", set())
    for name in request.args:
        if name not in allowed:
            raise Invalid(f"unknown query parameter {name!r}", name)
    return token


def json_object(max_bytes: int = 1024 * 1024, fields: set[str] | None = None) -> dict:
    """The request body as a JSON object, or a 413/400; with `fields`, any other key is a 422."""
    raw = read_body(max_bytes)
    try:
        data = parse_json(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    for key in data if fields is not None else ():
        if key not in fields:
            raise Invalid(f"unknown field {key!r}", key)
    return data


def read_body(max_bytes: int) -> bytes:
    """Read the body, refusing more than `max_bytes` with a 413 before reading it all."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise TooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise TooLarge(f"the body is larger than {max_bytes} bytes")
    return raw


def reachable(token: Caller) -> frozenset[int] | None:
    return token.projects


def project_or_404(token: Caller, raw_id: str) -> Project:
    """The project whose id is in the path, if the token reaches it; else a 404."""
    return lookup.project(db.session, path_id(raw_id, "project"), reachable(token))


def webhook_or_404(token: Caller, raw_id: str) -> Webhook:
    return lookup.webhook(db.session, path_id(raw_id, "webhook"), reachable(token))


def delivery_or_404(token: Caller, raw_id: str) -> tuple[Delivery, Webhook]:
    return lookup.delivery(db.session, path_id(raw_id, "delivery"), reachable(token))


def page_args(decode=decode_cursor) -> tuple[int, object | None]:
    """`limit` and the decoded `cursor` of a list request (422 when out of range)."""
    raw_limit = request.args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise Invalid(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    cursor = request.args.get("cursor")
    if not cursor:
        return limit, None
    try:
        return limit, decode(cursor)
    except ValueError:
        raise Invalid("the cursor is not one this API handed out", "cursor") from None


def page(rows: list, limit: int, serialize) -> dict:
    """`{"items": [...], "nextCursor": ...}` from up to limit+1 rows."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1].id) if more and rows else None}


def path_id(raw: str, what: str) -> int:
    """An id from the path; anything but an integer is a 404, as for an unknown id."""
    try:
        return int(raw)
    except ValueError:
        raise NotFound(f"no {what} {raw}") from None
