"""The API's errors: every DomainError a view or rule raises becomes SPEC §3's JSON shape
here, once, for the whole /api/v1 blueprint."""
from __future__ import annotations

from ..errors import discard_changes, error_response
from ..exceptions import DomainError


def handle_domain_error(error: DomainError):
    discard_changes()  # a refused request stores nothing
    response = error_response(error.status, error.code, error.message, error.field)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="webhooks"'
    return response
