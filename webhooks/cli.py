"""`flask users|projects|tokens|worker|deliveries|webhooks|secrets|db|doctor` (SPEC §8)."""
from __future__ import annotations

import functools
import signal
import sys

import click
from alembic.util import CommandError
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate.cli import db as migrate_db
from sqlalchemy import select

from . import auth, keys, manage, migrating
from .clock import parse_since
from .crypto import StoredKey
from .dbtx import writing
from .delivery.prune import prune
from .exceptions import Conflict, Invalid
from .extensions import app_now, db
from .models import Delivery, Project, User, Webhook, WebhookState

users = AppGroup("users", help="Manage users.")
webhooks_group = AppGroup("webhooks", help="Look at webhooks.")
projects = AppGroup("projects", help="Manage projects.")
tokens = AppGroup("tokens", help="Manage API tokens.")
deliveries = AppGroup("deliveries", help="Manage deliveries.")
secrets_group = AppGroup("secrets", help="Rotate the key that encrypts stored secrets.")


def _writes(callback):
    """Run a command's database work in write transactions (see `webhooks.dbtx`)."""
    @functools.wraps(callback)
    def wrapper(*args, **kwargs):
        with writing():
            return callback(*args, **kwargs)

    return wrapper


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == auth.normalize_email(email)))
    if user is None:
        _fail(f"no user with email {email}")
    return user


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, admin: bool, password_stdin: bool) -> None:
    """Create a user; the password comes from a prompt or standard input."""
    try:
        user = auth.create_user(db.session, email, _read_password(password_stdin), admin,
                                app_now())
    except Invalid as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"created {'administrator' if admin else 'user'} {user.email}", err=True)


@users.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Give a user a new password (from a prompt or standard input); ends all their sessions."""
    user = _user(email)
    try:
        ended = auth.set_password(db.session, user, _read_password(password_stdin))
    except Invalid as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"new password set for {user.email}; {ended} session"
               f"{'s' if ended != 1 else ''} signed out", err=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@projects.command("create")
@click.argument("project_id")
@click.argument("name")
def create_project(project_id: str, name: str) -> None:
    """Create a project; ID is the host application's goalId."""
    try:
        project = manage.create_project(db.session, project_id, name, app_now())
    except (Invalid, Conflict) as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"created project {project.id} {project.name}", err=True)


@projects.command("add-member")
@click.argument("project_id", type=int)
@click.argument("email")
def add_member(project_id: int, email: str) -> None:
    """Give a user access to a project."""
    project = db.session.get(Project, project_id)
    if project is None:
        _fail(f"no project {project_id}")
    user = _user(email)
    if user not in project.members:
        project.members.append(user)
    db.session.commit()
    click.echo(f"{user.email} is a member of project {project.id}", err=True)


@tokens.command("create")
@click.option("--user", "email", required=True, help="Email of the token's owner.")
@click.option("--name", required=True, help="A name to recognise the token by.")
@click.option("--scopes", required=True, help="Comma-separated: " + ", ".join(auth.SCOPES))
@click.option("--project", "project_ids", type=int, multiple=True,
              help="Limit the token to this project (repeatable); default all projects.")
@click.option("--expires-in", default=None, help="Lifetime such as 30d, 12h or 45m.")
def create_token(email: str, name: str, scopes: str, project_ids: tuple[int, ...],
                 expires_in: str | None) -> None:
    """Create an API token and print it alone on standard output (it is shown only once)."""
    user = _user(email)
    now = app_now()
    try:
        expires_at = now + auth.parse_duration(expires_in) if expires_in else None
        _, plaintext = auth.create_token(db.session, user, name, scopes,
                                         list(project_ids) or None, expires_at, now)
    except Invalid as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(plaintext)


@deliveries.command("prune")
@click.option("--older-than", default=None, help="Age such as 30d (default: the retention).")
def prune_deliveries(older_than: str | None) -> None:
    """Delete deliveries finished before the given age, and events left without any."""
    try:
        age = auth.parse_duration(older_than) if older_than else None
    except Invalid as exc:
        _fail(exc.message)
    if age is None:
        from datetime import timedelta
        age = timedelta(days=current_app.config["WEBHOOKS_RETENTION_DAYS"])
    count, events = prune(db.session, app_now(), age)
    click.echo(f"pruned {count} deliveries and {events} events", err=True)


@deliveries.command("retry-failed")
@click.option("--webhook", "webhook_id", type=int, required=True, help="The webhook's id.")
@click.option("--since", default=None,
              help="Only deliveries created since: an age such as 24h or 7d, or a UTC date "
                   "and time such as 2026-03-22T12:00.")
def retry_failed(webhook_id: int, since: str | None) -> None:
    """Put a webhook's failed deliveries back in line for a fresh cycle of attempts."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        _fail(f"no webhook {webhook_id}")
    now = app_now()
    start = _since(since, now) if since else None
    try:
        count = manage.retry_failed(db.session, webhook, now, start)
    except Conflict as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"{count} failed deliveries of webhook {webhook_id} will be retried", err=True)
    click.echo(count)


def _since(raw: str, now):
    try:
        return parse_since(raw, now)
    except ValueError:
        _fail(f"--since takes an age such as 24h or a date such as 2026-03-22T12:00, not {raw!r}")


@webhooks_group.command("list")
@click.option("--project", "project_id", type=int, default=None, help="Only this project.")
def list_webhooks(project_id: int | None) -> None:
    """One line per webhook: id, project, state, failures, last delivery, URL, events."""
    query = select(Webhook).order_by(Webhook.project_id, Webhook.id)
    if project_id is not None:
        query = query.where(Webhook.project_id == project_id)
    rows = [("ID", "PROJECT", "STATE", "FAILURES", "LAST", "URL", "EVENTS")]
    for w in db.session.scalars(query):
        last = db.session.scalar(select(Delivery.status).where(Delivery.webhook_id == w.id)
                                 .order_by(Delivery.id.desc()).limit(1))
        state = "on" if w.state is WebhookState.ACTIVE else w.state
        rows.append((str(w.id), str(w.project_id), state, str(w.consecutive_failures),
                     last or "-", w.url, str(len(w.event_list))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])


@secrets_group.command("rotate")
def rotate_secrets() -> None:
    """Re-encrypt every stored webhook secret under the current SECRET_KEY."""
    found = keys.rotate_stored(db.session, current_app.extensions["secret_box"])
    rotated, unreadable = found[StoredKey.FALLBACK], found[StoredKey.UNREADABLE]
    click.echo(f"re-encrypted {rotated} webhook secret{'s' if rotated != 1 else ''} under the "
               f"current SECRET_KEY ({found[StoredKey.CURRENT]} already were)")
    if unreadable:
        _fail(f"{unreadable} webhook secret{'s' if unreadable != 1 else ''} could not be "
              "decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS: add the key they were saved "
              "with to SECRET_KEY_FALLBACKS and run this again, or rotate those webhooks' "
              "secrets")
    click.echo("once every process runs with this SECRET_KEY, the old keys can leave "
               "SECRET_KEY_FALLBACKS", err=True)


@click.command("doctor")
def doctor() -> None:
    """Settings, database, scheduler, allowed hosts and secrets, on one screen."""
    from .doctor import report

    problems = report(current_app._get_current_object(), click.echo)
    if problems:
        raise SystemExit(1)


@click.command("worker")
def worker() -> None:
    """Run the delivery scheduler without the web server (until SIGINT or SIGTERM)."""
    from .scheduler import Runner

    app = current_app._get_current_object()
    runner = Runner(app, blocking=True)
    app.extensions["webhooks_scheduler"] = runner

    def stop(signum, _frame):
        click.echo(f"received signal {signum}; finishing attempts in flight", err=True)
        runner.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("worker started", err=True)
    runner.start()


# `flask db`: Flask-Migrate's commands, with a backup of an SQLite file before migrations change
# it (upgrades add and rebuild tables; downgrades drop what later revisions added).
db_group = click.Group("db", commands=dict(migrate_db.commands), callback=migrate_db.callback,
                       params=migrate_db.params, help=migrate_db.help)


def _backing_up(name: str):
    """Flask-Migrate's `name` command, preceded by a backup when it would change the schema."""
    original = migrate_db.commands[name]

    @click.pass_context
    def command(ctx: click.Context, **options) -> None:
        if not options["sql"]:
            _backup_before(name, options["directory"], options["revision"])
        ctx.invoke(original.callback, **options)

    db_group.add_command(click.Command(name, callback=command, params=original.params,
                                       help=original.help))


def _backup_before(name: str, directory: str | None, target: str) -> None:
    path = migrating.sqlite_path(db.engine)
    if path is None or not path.is_file():
        return
    directory = directory or current_app.extensions["migrate"].directory
    current, pending = migrating.revisions(db.engine, directory)
    if current is None:
        return  # a new database: nothing to keep yet
    if name == "upgrade":
        try:
            pending = migrating.revisions(db.engine, directory, target)[1]
        except CommandError:  # a relative target such as "+1": back up rather than guess
            pending = ["next"]
        if not pending:
            return
        label = f"{current}-to-{pending[-1]}"
    else:
        label = f"{current}-before-downgrade"
    made = migrating.backup_sqlite(path, label, app_now())
    click.echo(f"backed up the database to {made} before the {name} (the newest "
               f"{migrating.BACKUPS_KEPT} backups are kept)", err=True)


_backing_up("upgrade")
_backing_up("downgrade")


@db_group.command("backup")
def backup() -> None:
    """Copy the SQLite database into backups/ beside it and print where (safe while the
    service runs: SQLite's online backup)."""
    path = migrating.sqlite_path(db.engine)
    if path is None:
        _fail("flask db backup copies an SQLite database; for PostgreSQL use pg_dump "
              "(see Upgrading and backups in the README)")
    if not path.is_file():
        _fail(f"no database file at {path}")
    current = migrating.revisions(db.engine, current_app.extensions["migrate"].directory)[0]
    made = migrating.backup_sqlite(path, f"at-{current or 'empty'}", app_now())
    click.echo(str(made))


def init_app(app: Flask) -> None:
    for group in (users, projects, tokens, deliveries, webhooks_group, secrets_group):
        for command in group.commands.values():
            command.callback = _writes(command.callback)
        app.cli.add_command(group)
    app.cli.add_command(worker)
    app.cli.add_command(doctor)
    app.cli.add_command(db_group)  # after Flask-Migrate's, which it replaces
