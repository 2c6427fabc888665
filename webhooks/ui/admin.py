"""Users and project members, for administrators (SPEC §6-§7); members get 404s."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from .. import auth
from ..exceptions import Invalid
from ..extensions import app_now, db
from ..models import Project, User
from .common import admin_required, is_htmx, project_or_404, render, visible_projects

bp = Blueprint("admin", __name__)


def _selected_project(raw) -> Project | None:
    """The project whose members are shown: the one asked for, else the first."""
    projects = visible_projects(current_user)
    wanted = str(raw or "")
    return next((p for p in projects if str(p.id) == wanted), projects[0] if projects else None)


def _context(member_project=None, **extra) -> dict:
    users = list(db.session.scalars(select(User).options(selectinload(User.projects))
                                    .order_by(User.email)))
    context = {"users": users, "projects": visible_projects(current_user),
               "member_project": member_project, "form": MultiDict(), "errors": {},
               "member_form": MultiDict(), "member_errors": {}, "row_errors": {},
               "password_errors": {}}
    return {**context, **extra}


def _answer(fragment: str | None, status: int = 200, member_project=None, users_changed=False,
            **extra):
    """htmx gets the fragment; a plain form gets the page again (errors) or a redirect.

    `users_changed` tells the members panel (HX-Trigger) to refresh itself.
    """
    if is_htmx():
        response = render(fragment, status, **_context(member_project, **extra)) if fragment \
            else make_response("", status)
        if users_changed:
            response.headers["HX-Trigger"] = "users-changed"
        return response
    if status >= 400:
        member_project = member_project or _selected_project(None)
        return render("admin/users.html", status, **_context(member_project, **extra))
    project_id = member_project.id if member_project else None
    return redirect(url_for("ui.admin.list_users", project=project_id))


@bp.get("/admin/users")
@admin_required
def list_users():
    """The users page; htmx asks only for the members panel of the chosen project."""
    project = _selected_project(request.args.get("project"))
    restoring = request.headers.get("HX-History-Restore-Request") == "true"
    template = "admin/_members.html" if is_htmx() and not restoring else "admin/users.html"
    return render(template, **_context(project))


@bp.post("/admin/users")
@admin_required
def create_user():
    form = request.form
    try:
        user = auth.create_user(db.session, form.get("email", ""), form.get("password", ""),
                                bool(form.get("is_admin")), app_now())
    except Invalid as exc:
        db.session.rollback()
        return _answer("admin/_user_form.html", 422, form=form,
                       errors={exc.field or "email": exc.message})
    db.session.commit()
    return _answer("admin/_user_created.html", created=user, users_changed=True)


def _user_or_404(user_id: int) -> User:
    user = auth.get_user(db.session, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/admin/users/<int:user_id>/admin")
@admin_required
def set_admin(user_id: int):
    """Make a user an administrator, or take it away (never your own, never the last)."""
    user = _user_or_404(user_id)
    try:
        auth.set_admin(db.session, current_user, user, request.form.get("admin") == "1")
    except Invalid as exc:
        db.session.rollback()
        return _answer("admin/_user_row.html", 422, user=user, row_error=exc.message,
                       row_errors={user.id: exc.message})
    db.session.commit()
    return _answer("admin/_user_row.html", user=user, users_changed=True)


@bp.post("/admin/users/<int:user_id>/password")
@admin_required
def set_password(user_id: int):
    """Give another user a new password; all their sessions end at once."""
    user = _user_or_404(user_id)
    if user.id == current_user.id:  # your own takes the current one: the account page
        message = "change your own password on your account page"
        return _answer("admin/_user_row.html", 422, user=user, row_error=message,
                       row_errors={user.id: message})
    try:
        ended = auth.set_password(db.session, user, request.form.get("password", ""))
    except Invalid as exc:
        db.session.rollback()
        return _answer("admin/_user_row.html", 422, user=user,
                       password_errors={user.id: exc.message})
    db.session.commit()
    note = (f"New password set for {user.email}; {ended} session{'s' if ended != 1 else ''} "
            "signed out.")
    if not is_htmx():
        flash(note)
    return _answer("admin/_user_row.html", user=user, row_notice=note)


@bp.post("/admin/users/<int:user_id>/delete")
@admin_required
def delete_user(user_id: int):
    """Remove a user, their tokens and memberships (never yourself, never the last admin)."""
    user = _user_or_404(user_id)
    try:
        auth.delete_user(db.session, current_user, user)
    except Invalid as exc:
        db.session.rollback()
        return _answer("admin/_user_row.html", 422, user=user, row_error=exc.message,
                       row_errors={user.id: exc.message})
    db.session.commit()
    return _answer(None, users_changed=True)  # delete-row: an empty answer replaces the row


@bp.post("/admin/projects/<int:project_id>/members")
@admin_required
def add_member(project_id: int):
    project = project_or_404(project_id)
    form = request.form
    try:
        user = auth.add_member(db.session, project, form.get("member_email", ""))
    except Invalid as exc:
        db.session.rollback()
        return _answer("admin/_members.html", 422, project, member_form=form,
                       member_errors={"member_email": exc.message})
    db.session.commit()
    return _answer("admin/_members_changed.html", member_project=project, changed_user=user)


@bp.post("/admin/projects/<int:project_id>/members/<int:user_id>/remove")
@admin_required
def remove_member(project_id: int, user_id: int):
    """Take a member's access away; their pages and tokens lose the project at once."""
    project = project_or_404(project_id)
    auth.remove_member(db.session, project, user_id)
    db.session.commit()
    return _answer("admin/_members_changed.html", member_project=project,
                   changed_user=auth.get_user(db.session, user_id))
