"""The API tokens page (SPEC §6-§7). Skeleton: filled in by the tokens UI work."""
from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from .common import render

bp = Blueprint("tokens", __name__)


@bp.get("/tokens")
@login_required
def list_tokens():
    return render("tokens/list.html")
