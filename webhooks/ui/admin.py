"""Users and project members, for administrators (SPEC §6-§7). Skeleton."""
from __future__ import annotations

from flask import Blueprint

from .common import admin_required, render

bp = Blueprint("admin", __name__)


@bp.get("/admin/users")
@admin_required
def list_users():
    return render("admin/users.html")
