"""Sign-in sessions the server can end (SPEC §6). No Flask here.

Each sign-in is a `LoginSession` row. The browser's (signed) session cookie holds a random key
as Flask-Login's user id (`User.get_id`); the row holds only the key's hash. Signing out deletes
the row, so a copy of the cookie opens nothing afterwards; changing or setting a password and
removing the user delete all of the user's rows; a session ends `WEBHOOKS_SESSION_HOURS` after
sign-in at the latest, whatever the cookie says.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .crypto import hash_token
from .models import LoginSession, User


def start(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    """Open a session for `user` (and forget their expired ones); return its key."""
    key = secrets.token_urlsafe(32)
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                               LoginSession.expires_at <= now))
    session.add(LoginSession(id=hash_token(key), user_id=user.id, created_at=now,
                             expires_at=now + lifetime))
    session.flush()
    user.session_key = key
    return key


def user_for(session: Session, key: str, now: datetime) -> User | None:
    """The user of the live session with this key, or None (unknown, ended or expired)."""
    user = session.scalar(select(User).join(LoginSession, LoginSession.user_id == User.id)
                          .where(LoginSession.id == hash_token(key),
                                 LoginSession.expires_at > now))
    if user is not None:
        user.session_key = key
    return user


def end(session: Session, key: str | None) -> None:
    """End one session for good."""
    if key:
        session.execute(delete(LoginSession).where(LoginSession.id == hash_token(key)))


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user; return how many there were."""
    return session.execute(delete(LoginSession).where(LoginSession.user_id == user_id)).rowcount


def live_count(session: Session, user_id: int, now: datetime) -> int:
    """How many sessions of a user are open now."""
    return session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.expires_at > now))


def prune(session: Session, now: datetime) -> int:
    """Delete expired sessions (the daily retention job); return how many."""
    return session.execute(delete(LoginSession).where(LoginSession.expires_at <= now)).rowcount
