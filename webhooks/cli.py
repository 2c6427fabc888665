"""`flask users|projects|tokens|worker|deliveries` (SPEC §8)."""
from __future__ import annotations

import functools
import signal
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from . import auth, manage
from .extensions import app_now
from .dbtx import writing
from .delivery.prune import prune
from .extensions import db
from .models import Project, User

users = AppGroup("users", help="Manage users.")
projects = AppGroup("projects", help="Manage projects.")
tokens = AppGroup("tokens", help="Manage API tokens.")
deliveries = AppGroup("deliveries", help="Manage deliveries.")


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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.create_user(db.session, email, password, admin, app_now())
    except auth.AccessError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"created {'administrator' if admin else 'user'} {user.email}", err=True)


@projects.command("create")
@click.argument("project_id")
@click.argument("name")
def create_project(project_id: str, name: str) -> None:
    """Create a project; ID is the host application's goalId."""
    try:
        project = manage.create_project(db.session, project_id, name, app_now())
    except (manage.Invalid, manage.Conflict) as exc:
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
    except auth.AccessError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(plaintext)


@deliveries.command("prune")
@click.option("--older-than", default=None, help="Age such as 30d (default: the retention).")
def prune_deliveries(older_than: str | None) -> None:
    """Delete deliveries finished before the given age, and events left without any."""
    try:
        age = auth.parse_duration(older_than) if older_than else None
    except auth.AccessError as exc:
        _fail(exc.message)
    if age is None:
        from datetime import timedelta
        age = timedelta(days=current_app.config["WEBHOOKS_RETENTION_DAYS"])
    count, events = prune(db.session, app_now(), age)
    click.echo(f"pruned {count} deliveries and {events} events", err=True)


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


def init_app(app: Flask) -> None:
    for group in (users, projects, tokens, deliveries):
        for command in group.commands.values():
            command.callback = _writes(command.callback)
        app.cli.add_command(group)
    app.cli.add_command(worker)
