"""First run, sign in and sign out, and the account page (password, sign out everywhere)."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy import exists, select

from .. import auth, login_sessions
from ..exceptions import Invalid
from ..extensions import app_now, db
from ..models import User
from ..ratelimit import FailureLimiter
from .common import render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "ui.auth.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(key: str) -> User | None:
    """The user of the live sign-in session whose key the cookie holds (see login_sessions)."""
    return login_sessions.user_for(db.session, key, app_now())


def has_users() -> bool:
    return bool(db.session.scalar(select(exists().where(User.id.isnot(None)))))


UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\]")


def _safe_next(target: str | None) -> str:
    """`target` if a browser would take it to a path of this site, else the projects page.

    Browsers drop tabs and newlines from URLs and read a backslash as `/`, so `/<tab>/evil.example`
    and `/<backslash>evil.example` mean `//evil.example`, another host: control characters,
    spaces and backslashes are refused outright, then the rest must parse as a bare path.
    """
    if (target and target.startswith("/") and not target.startswith("//")
            and not UNSAFE_IN_PATH.search(target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("ui.projects.index")


def _sign_in(user: User) -> None:
    """Open a server-side session for `user` and hand its key to this browser (committed)."""
    lifetime = timedelta(hours=current_app.config["WEBHOOKS_SESSION_HOURS"])
    login_sessions.start(db.session, user, app_now(), lifetime)
    db.session.commit()
    session.clear()  # a fresh session at sign-in: nothing from before carries over
    session.permanent = True  # the cookie expires with the server-side session
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
            except Invalid as exc:
                db.session.rollback()
                errors[exc.field or "email"] = exc.message
    return render("auth/setup.html", 422 if errors else 200, form=form, errors=errors)


# Failed sign-ins: 5 per email and 20 per client address in 15 minutes, per process.
EMAIL_LIMIT, ADDRESS_LIMIT, WINDOW = 5, 20, 15 * 60


def _limiters() -> tuple[FailureLimiter, FailureLimiter]:
    """This app's limiters (by email, by address), made on first use."""
    limiters = current_app.extensions.get("login_limiters")
    if limiters is None:
        limiters = (FailureLimiter(EMAIL_LIMIT, WINDOW), FailureLimiter(ADDRESS_LIMIT, WINDOW))
        current_app.extensions["login_limiters"] = limiters
    return limiters


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not has_users():
        return redirect(url_for("ui.auth.setup"))
    form, errors = request.form, {}
    if request.method == "POST":
        email = auth.normalize_email(form.get("email", ""))
        by_email, by_address = _limiters()
        keys = ((by_email, email), (by_address, request.remote_addr or "?"))
        wait = max((limiter.retry_after(key) or 0 for limiter, key in keys), default=0)
        if wait:
            minutes = max(1, round(wait / 60))
            errors["password"] = (f"too many failed sign-ins; try again in {minutes} "
                                  f"minute{'s' if minutes != 1 else ''}")
            response = render("auth/login.html", 429, form=form, errors=errors)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        user = auth.check_login(db.session, email, form.get("password", ""))
        if user is not None:
            for limiter, key in keys:
                limiter.succeeded(key)
            _sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        for limiter, key in keys:
            limiter.failed(key)
        current_app.logger.warning("failed sign-in for %s from %s", email, request.remote_addr,
                                   extra={"fields": {"email": email,
                                                     "client": request.remote_addr}})
        errors["password"] = "wrong email or password"
    return render("auth/login.html", 422 if errors else 200, form=form, errors=errors)


def _sign_out() -> None:
    logout_user()
    session.clear()


@bp.post("/logout")
@login_required
def logout():
    """End this session for good: a copy of its cookie opens nothing afterwards."""
    login_sessions.end(db.session, current_user.session_key)
    db.session.commit()
    _sign_out()
    return redirect(url_for("ui.auth.login"))


@bp.get("/account")
@login_required
def account():
    return _account_page()


def _account_page(status: int = 200, errors: dict | None = None):
    sessions = login_sessions.live_count(db.session, current_user.id, app_now())
    return render("auth/account.html", status, errors=errors or {}, sessions=sessions, form={})


@bp.post("/account/password")
@login_required
def change_password():
    """Change your own password; every session of yours ends, this browser gets a new one."""
    user, form = current_user._get_current_object(), request.form
    try:
        ended = auth.change_password(db.session, user, form.get("current_password", ""),
                                     form.get("password", ""), form.get("confirm", ""))
    except Invalid as exc:
        db.session.rollback()
        return _account_page(422, errors={exc.field: exc.message})
    _sign_in(user)
    others = ended - 1
    flash("Your password was changed" + (
        f"; {others} other session{'s were' if others != 1 else ' was'} signed out."
        if others > 0 else "."))
    return redirect(url_for("ui.auth.account"))


@bp.post("/account/notifications")
@login_required
def set_notifications():
    """Turn the failing/deactivated emails (SPEC §9) on or off for yourself."""
    choice = request.form.getlist("notify_email")  # "0" always, and "1" when ticked
    if "0" not in choice:
        return _account_page(422, errors={"notify_email": "choose whether to get emails"})
    user = db.session.get(User, current_user.id)
    user.notify_email = "1" in choice
    db.session.commit()
    flash("You will get an email when a webhook of your projects starts failing or is turned "
          "off." if user.notify_email else "You will get no more emails about failing webhooks.")
    return redirect(url_for("ui.auth.account"))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session of yours, this one included."""
    login_sessions.end_all(db.session, current_user.id)
    db.session.commit()
    _sign_out()
    flash("You were signed out everywhere.")
    return redirect(url_for("ui.auth.login"))
