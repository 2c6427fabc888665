"""First run, sign in and sign out."""
from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_login import LoginManager, login_required, login_user, logout_user
from sqlalchemy import exists, select

from .. import auth
from ..extensions import app_now, db
from ..models import User
from .common import render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "ui.auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def has_users() -> bool:
    return bool(db.session.scalar(select(exists().where(User.id.isnot(None)))))


def _safe_next(target: str | None) -> str:
    """Only same-site paths, never another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ui.projects.index")


def _sign_in(user: User) -> None:
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    login_user(user)


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first administrator; offered only while there is no user at all."""
    if has_users():
        return redirect(url_for("ui.auth.login"))
    form, errors = request.form, {}
    if request.method == "POST":
        if form.get("password", "") != form.get("confirm", ""):
            errors["confirm"] = "the two passwords differ"
        else:
            try:
                user = auth.create_user(db.session, form.get("email", ""),
                                        form.get("password", ""), True, app_now())
                db.session.commit()
                _sign_in(user)
                return redirect(url_for("ui.projects.index"))
            except auth.AccessError as exc:
                db.session.rollback()
                errors[exc.field or "email"] = exc.message
    return render("auth/setup.html", 422 if errors else 200, form=form, errors=errors)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not has_users():
        return redirect(url_for("ui.auth.setup"))
    form, errors = request.form, {}
    if request.method == "POST":
        user = auth.check_login(db.session, form.get("email", ""), form.get("password", ""))
        if user is not None:
            _sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        errors["password"] = "wrong email or password"
    return render("auth/login.html", 422 if errors else 200, form=form, errors=errors)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("ui.auth.login"))
