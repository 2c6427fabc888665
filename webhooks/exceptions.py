"""The one family of errors the rules raise: a message for people, the field at fault, a code
for programs, and the HTTP status it means. No Flask here.

The API maps them to SPEC §3's JSON shape once, on its blueprint (`api/errors.py`); the UI
shows them beside the field at fault; the CLI prints the message.
"""
from __future__ import annotations


class DomainError(ValueError):
    """A rule says no."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field
        if code is not None:
            self.code = code


class BadRequest(DomainError):
    """The request cannot be read (not JSON, not an object)."""


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    """Nothing there, or nothing the caller may see (the two read the same)."""

    status, code = 404, "not_found"


class Conflict(DomainError):
    """The action does not fit the resource's current state."""

    status, code = 409, "conflict"


class TooLarge(DomainError):
    status, code = 413, "payload_too_large"


class Invalid(DomainError):
    """Input breaks a rule; `field` names the input at fault."""

    status, code = 422, "validation_error"
