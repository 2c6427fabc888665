"""Errors the app answers: the JSON shape of SPEC §3 under /api/, pages elsewhere.

Domain errors (`exceptions.DomainError`) are mapped by the API blueprint (`api/errors.py`) and
by the UI's views; what is left here is what no view raises: HTTP errors (unknown URLs, wrong
methods, CSRF), a database that is unavailable, and bugs.
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
          500: "internal_error", 503: "unavailable"}


def error_response(status: int, code: str, message: str, field: str | None = None):
    """Build the JSON error response."""
    error = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


_PAGE_MESSAGES = {
    404: "There is nothing here, or you may not see it.",
    405: "That action is not available here.",
    400: "The request was refused. If you were filling in a form, reload the page and try again.",
}


def _error_page(status: int, name: str, message: str, headers=()):
    """An error page in the site's layout (falls back to plain text if rendering fails)."""
    from flask import render_template

    try:
        body = render_template("error.html", code=status, name=name, message=message)
    except Exception:  # e.g. the database is what failed, and the layout needs it
        body = f"{status} {name}: {message}"
    response = current_app.make_response((body, status))
    for header, value in headers:
        if header.lower() != "content-type":
            response.headers[header] = value
    return response


def discard_changes() -> None:
    """A failed request stores nothing: roll back whatever it had begun."""
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection itself may be what failed
        pass


def handle_http_exception(error: HTTPException):
    """Unknown URLs, wrong methods, CSRF refusals, aborts: a page, or JSON under /api/."""
    discard_changes()
    if not _wants_json():
        message = _PAGE_MESSAGES.get(error.code, error.description or error.name)
        if error.code == 400 and error.description:
            message = f"{message} ({error.description})"
        return _error_page(error.code or 500, error.name, message, error.get_headers())
    response = error_response(error.code or 500, _CODES.get(error.code, "error"),
                              error.description or error.name)
    for name, value in error.get_headers():
        if name.lower() != "content-type":  # e.g. Allow on a 405
            response.headers[name] = value
    return response


def handle_database_unavailable(error: Exception):
    discard_changes()
    current_app.logger.warning("database unavailable on %s %s: %s", request.method,
                               request.path, str(error).splitlines()[0])
    if _wants_json():
        response = error_response(503, "unavailable", "the database is unavailable for a "
                                  "moment; retry the request (with the same Idempotency-Key)")
    else:
        response = current_app.make_response(("The database is unavailable for a moment; "
                                              "reload the page.", 503))
    response.headers["Retry-After"] = "1"
    return response


def handle_unexpected(error: Exception):
    discard_changes()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return error_response(500, "internal_error", "internal error; see the server log")
    return _error_page(500, "Internal error", "Something went wrong on our side; the "
                       "server log has the details.")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(InterfaceError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
