"""The API tokens page (SPEC §6-§7): everyone creates, lists and revokes their own tokens."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from .. import auth
from ..exceptions import Invalid
from ..extensions import app_now, db
from .common import is_htmx, render, visible_projects

bp = Blueprint("tokens", __name__)

# The expiry choices offered by the form: value -> (label, lifetime or None for never).
EXPIRY_CHOICES = {
    "": ("Never", None),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    "90d": ("90 days", timedelta(days=90)),
    "365d": ("1 year", timedelta(days=365)),
}


def _context(form=None, errors=None, created=None) -> dict:
    """What the page and its partials need."""
    now = app_now()
    return {"tokens": auth.user_tokens(db.session, current_user), "now": now,
            "status_of": lambda token: auth.token_status(token, now),
            "projects": visible_projects(current_user), "scopes": auth.SCOPES,
            "expiry_choices": EXPIRY_CHOICES, "form": form or MultiDict(), "errors": errors or {},
            "created": created}


def _no_store(response):
    """The page a new token's plaintext is shown on (or swapped into): no cache or back-button
    copy of it, as for webhook secrets."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tokens")
@login_required
def list_tokens():
    return _no_store(render("tokens/list.html", **_context()))


def _new_token(form):
    """Create a token from the form's fields; returns (token, plaintext)."""
    now = app_now()
    if form.get("expires_in", "") not in EXPIRY_CHOICES:
        raise Invalid("choose one of the offered expiries", "expires_in")
    lifetime = EXPIRY_CHOICES[form.get("expires_in", "")][1]
    project_ids = None
    if form.get("access") == "some":
        try:
            project_ids = [int(p) for p in form.getlist("projects")]
        except ValueError:
            raise Invalid("choose projects from the list", "projects") from None
    return auth.create_token(db.session, current_user, form.get("name", ""),
                             form.getlist("scopes"), project_ids,
                             now + lifetime if lifetime else None, now)


@bp.post("/tokens")
@login_required
def create_token():
    """Create a token and show it once; errors come back inline next to their fields."""
    form = request.form
    try:
        token, plaintext = _new_token(form)
    except Invalid as exc:
        db.session.rollback()
        context = _context(form, {exc.field or "name": exc.message})
        return render("tokens/_create.html" if is_htmx() else "tokens/list.html", 422, **context)
    db.session.commit()
    context = _context(created={"name": token.name, "plaintext": plaintext})
    # htmx: the form again with the token above it, and the list refreshed out of band.
    return _no_store(render("tokens/_created.html" if is_htmx() else "tokens/list.html",
                            **context))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of your own tokens; anyone else's is a 404."""
    now = app_now()
    token = auth.revoke_token(db.session, current_user, token_id, now)
    if token is None:
        abort(404)
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("ui.tokens.list_tokens"))
    return render("tokens/_row.html", token=token, now=now,
                  status_of=lambda t: auth.token_status(t, now))
