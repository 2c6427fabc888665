"""Users, API tokens, scopes and project access (SPEC §6). No Flask here."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import login_sessions
from .clock import parse_age
from .crypto import hash_token, new_api_token
from .dbtx import writing
from .exceptions import Invalid
from .lookup import find
from .models import ApiToken, Project, User, memberships, token_projects

SCOPES = ("events:write", "webhooks:read", "webhooks:write", "projects:write")
EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MIN_PASSWORD = 8
# lastUsedAt is written at most this often per token, to keep ingest to one write.
LAST_USED_GRANULARITY = timedelta(seconds=60)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, email: str, password: str, is_admin: bool,
                now: datetime) -> User:
    """Add a user with a hashed password; refuses a bad email, short password or duplicate."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid("enter a valid email address", "email")
    _check_new_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid(f"a user with email {email} already exists", "email")
    user = User(email=email, password_hash=generate_password_hash(password), is_admin=is_admin,
                created_at=now)
    try:
        with session.begin_nested():  # two people adding the same email at once
            session.add(user)
    except IntegrityError:
        raise Invalid(f"a user with email {email} already exists", "email") from None
    return user


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password must have at least {MIN_PASSWORD} characters",
                          "password")


def set_password(session: Session, user: User, password: str) -> int:
    """Give `user` a new password and end all their sessions; return how many were ended."""
    _check_new_password(password)
    user.password_hash = generate_password_hash(password)
    session.flush()
    return login_sessions.end_all(session, user.id)


def change_password(session: Session, user: User, current: str, new: str, confirm: str) -> int:
    """A user's own change: the current password is required and the new one typed twice."""
    if not check_password_hash(user.password_hash, current):
        raise Invalid("this is not your current password", "current_password")
    if new != confirm:
        raise Invalid("the two passwords differ", "confirm")
    return set_password(session, user, new)


def check_login(session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        # Spend the same time as a real check so timing does not reveal which emails exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def parse_scopes(raw) -> list[str]:
    """Scopes from a comma-separated string or a list, validated and in canonical order."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    items = [s.strip() for s in items if s and s.strip()]
    unknown = [s for s in items if s not in SCOPES]
    if unknown:
        raise Invalid(f"unknown scope {unknown[0]!r}; expected some of {', '.join(SCOPES)}",
                          "scopes")
    if not items:
        raise Invalid("choose at least one scope", "scopes")
    return [s for s in SCOPES if s in items]


def parse_duration(raw: str) -> timedelta:
    """`30d`, `12h`, `45m` or `90s` as a timedelta."""
    try:
        return parse_age(raw or "")
    except ValueError:
        raise Invalid("use a positive duration such as 30d, 12h or 45m", "expires_in") from None


def create_token(session: Session, user: User, name: str, scopes, project_ids: list[int] | None,
                 expires_at: datetime | None, now: datetime) -> tuple[ApiToken, str]:
    """Add a token for `user`; `project_ids` None means all the user's projects.

    Returns the token row and its plaintext, which is never stored.
    """
    name = (name or "").strip()
    if not name or len(name) > 200 or CONTROL_RE.search(name):
        raise Invalid("give the token a name of 1 to 200 printable characters", "name")
    scope_list = parse_scopes(scopes)
    if "projects:write" in scope_list and not user.is_admin:
        raise Invalid("projects:write is only for administrators' tokens", "scopes")
    projects: list[Project] = []
    if project_ids is not None:
        if not project_ids:
            raise Invalid("choose at least one project, or all projects", "projects")
        projects = list(session.scalars(select(Project).where(Project.id.in_(project_ids))))
        found = {p.id for p in projects}
        visible = visible_project_ids(session, user)
        for pid in project_ids:
            if pid not in found or (visible is not None and pid not in visible):
                raise Invalid(f"project {pid} does not exist or is not yours", "projects")
    if expires_at is not None and expires_at <= now:
        raise Invalid("the expiry must be in the future", "expires_in")
    plaintext = new_api_token()
    token = ApiToken(user=user, name=name, token_hash=hash_token(plaintext),
                     prefix=plaintext[:10], scopes=",".join(scope_list),
                     all_projects=project_ids is None, projects=projects,
                     expires_at=expires_at, created_at=now)
    session.add(token)
    session.flush()
    return token, plaintext


@dataclass(frozen=True)
class Caller:
    """What an API request may do, read from its live token: the scopes, whether its user is an
    administrator, and the projects it reaches (None: all of them)."""

    token_id: int
    scopes: frozenset[str]
    is_admin: bool
    projects: frozenset[int] | None
    expires_at: datetime | None
    last_used_at: datetime | None

    def reaches(self, project_id: int) -> bool:
        """Whether the token may act on this project id (decided without looking it up)."""
        return self.projects is None or project_id in self.projects


_tokens, _users = ApiToken.__table__, User.__table__
# Built once: every API request runs them, and composing a statement costs more than running it.
_CALLER = (select(_tokens.c.id, _tokens.c.scopes, _tokens.c.all_projects, _tokens.c.expires_at,
                  _tokens.c.last_used_at, _tokens.c.user_id, _users.c.is_admin)
           .join(_users, _users.c.id == _tokens.c.user_id)
           .where(_tokens.c.token_hash == bindparam("hash"), _tokens.c.revoked_at.is_(None)))
_MEMBER_OF = select(memberships.c.project_id).where(memberships.c.user_id == bindparam("user"))
_LISTED = select(token_projects.c.project_id).where(token_projects.c.token_id == bindparam("token"))


def load_caller(session: Session, token_hash: str) -> Caller | None:
    """The caller of the unrevoked token with this hash, or None (expiry is the caller's)."""
    row = session.execute(_CALLER, {"hash": token_hash}).first()
    if row is None:
        return None
    visible = None if row.is_admin else set(session.scalars(_MEMBER_OF, {"user": row.user_id}))
    reached = visible
    if not row.all_projects:
        listed = set(session.scalars(_LISTED, {"token": row.id}))
        reached = listed if visible is None else listed & visible
    return Caller(row.id, frozenset(s for s in row.scopes.split(",") if s), row.is_admin,
                  None if reached is None else frozenset(reached), row.expires_at,
                  row.last_used_at)


def note_use(session: Session, caller: Caller, now: datetime) -> Caller:
    """Record the token's use (at most once a minute, so ingest stays one write); the caller
    as it is now."""
    if caller.last_used_at is not None and now - caller.last_used_at < LAST_USED_GRANULARITY:
        return caller
    # Its own short write transaction, committed at once: reads, refused requests and
    # idempotent replays commit nothing else.
    session.commit()
    with writing():
        session.execute(update(ApiToken).where(ApiToken.id == caller.token_id)
                        .values(last_used_at=now))
        session.commit()
    return replace(caller, last_used_at=now)


def authenticate_token(session: Session, plaintext: str, now: datetime) -> Caller | None:
    """The caller of the live token with this plaintext (not expired, not revoked), noting
    its use."""
    caller = load_caller(session, hash_token(plaintext))
    if caller is None or (caller.expires_at is not None and caller.expires_at <= now):
        return None
    return note_use(session, caller, now)


def visible_project_ids(session: Session, user: User) -> set[int] | None:
    """The projects a user may see: None for an administrator (all of them)."""
    if user.is_admin:
        return None
    rows = session.execute(select(memberships.c.project_id).where(memberships.c.user_id == user.id))
    return {row[0] for row in rows}


# --- Managing tokens, users and memberships from the UI ---------------------------------


def token_status(token: ApiToken, now: datetime) -> str:
    """`revoked`, `expired` or `active`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def user_tokens(session: Session, user: User) -> list[ApiToken]:
    """A user's own tokens, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def own_token(session: Session, user: User, token_id: int) -> ApiToken | None:
    """The token with this id if it belongs to `user`, else None."""
    token = find(session, ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


def revoke_token(session: Session, user: User, token_id: int, now: datetime) -> ApiToken | None:
    """Revoke one of `user`'s own tokens (again is a no-op); None when it is not theirs."""
    token = own_token(session, user, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def get_user(session: Session, user_id: int) -> User | None:
    return find(session, User, user_id)


def _admin_ids_locked(session: Session) -> set[int]:
    """The administrators' ids, their rows locked (PostgreSQL) so that two concurrent
    demotions or removals cannot both see "another administrator is left"."""
    return set(session.scalars(select(User.id).where(User.is_admin.is_(True))
                               .with_for_update()))


def set_admin(session: Session, actor: User, user: User, is_admin: bool) -> User:
    """Make `user` an administrator or a member; refuses demoting yourself or the last one."""
    if not is_admin and user.is_admin:
        if user.id == actor.id:
            raise Invalid("you cannot take away your own administrator rights; "
                              "ask another administrator", "admin")
        if _admin_ids_locked(session) <= {user.id}:
            raise Invalid("the last administrator cannot become a member", "admin")
    user.is_admin = is_admin
    session.flush()
    return user


def delete_user(session: Session, actor: User, user: User) -> None:
    """Remove a user with their tokens and memberships; never yourself or the last admin."""
    if user.id == actor.id:
        raise Invalid("you cannot remove your own account", "user")
    if user.is_admin and _admin_ids_locked(session) <= {user.id}:
        raise Invalid("the last administrator cannot be removed", "user")
    # The database cascades to the user's tokens (and their project lists), memberships and
    # sign-in sessions.
    session.execute(delete(User).where(User.id == user.id))


def add_member(session: Session, project: Project, email: str) -> User:
    """Give the user with this email access to the project (already a member: no change)."""
    email = email or ""
    user = None if CONTROL_RE.search(email) else session.scalar(
        select(User).where(User.email == normalize_email(email)))
    if user is None:
        shown = (email or "").strip()
        raise Invalid(f"no user with email {shown}; create the user first" if shown
                          else "enter the email of an existing user", "email")
    already = session.scalar(select(memberships.c.user_id).where(
        memberships.c.user_id == user.id, memberships.c.project_id == project.id))
    if already is not None:
        return user
    try:
        with session.begin_nested():  # a concurrent add of the same member is not an error
            session.execute(insert(memberships).values(user_id=user.id, project_id=project.id))
    except IntegrityError:
        pass
    session.expire(project, ["members"])
    session.expire(user, ["projects"])
    return user


def remove_member(session: Session, project: Project, user_id: int) -> bool:
    """Take a user's access to the project away at once; False when they were no member."""
    if find(session, User, user_id) is None:
        return False
    removed = session.execute(delete(memberships).where(
        memberships.c.project_id == project.id, memberships.c.user_id == user_id)).rowcount
    session.expire(project, ["members"])
    return bool(removed)
