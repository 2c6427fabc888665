"""`flask doctor`: what this process would run with, and whether it can work, on one screen."""
from __future__ import annotations

import os
from collections.abc import Callable

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .crypto import StoredKey
from .extensions import app_now, db
from .keys import stored_keys
from .mail import MailError
from .stats import backlog, project_count, webhook_counts

SETTINGS = ("SCHEDULER_ENABLED", "WEBHOOKS_POLL_SECONDS", "WEBHOOKS_TIMEOUT_SECONDS",
            "WEBHOOKS_RETRY_DELAYS", "WEBHOOKS_MAX_CONSECUTIVE_FAILURES",
            "WEBHOOKS_ALLOWED_HOSTS", "WEBHOOKS_RETENTION_DAYS", "WEBHOOKS_MAX_EVENT_BYTES",
            "WEBHOOKS_SEND_CONCURRENCY", "WEBHOOKS_CA_BUNDLE", "WEBHOOKS_LEASE_SECONDS",
            "WEBHOOKS_LOG_FORMAT", "WEBHOOKS_SESSION_HOURS", "SESSION_COOKIE_SECURE",
            "WEBHOOKS_TRUSTED_PROXIES")


class Report:
    def __init__(self, echo: Callable[[str], None]):
        self.echo, self.problems = echo, 0

    def ok(self, message: str) -> None:
        self.echo(f"  ok    {message}")

    def warn(self, message: str) -> None:
        self.echo(f"  warn  {message}")

    def fail(self, message: str) -> None:
        self.problems += 1
        self.echo(f"  FAIL  {message}")


def report(app: Flask, echo: Callable[[str], None]) -> int:
    """Print the report; return the number of problems found."""
    out = Report(echo)
    echo("Settings")
    _settings(app, out)
    echo("Database")
    if _database(app, out):
        echo("Delivery")
        _delivery(app, out)
    echo("Allowed hosts")
    _hosts(app, out)
    echo("Mail")
    _mail(app, out)
    echo(f"{out.problems} problem{'s' if out.problems != 1 else ''} found")
    return out.problems


def _settings(app: Flask, out: Report) -> None:
    for name in SETTINGS:
        value = app.config.get(name)
        shown = ",".join(f"{v:g}" for v in value) if isinstance(value, tuple) else value
        source = "environment" if name in os.environ else "default"
        out.ok(f"{name} = {shown}  ({source})")
    if app.config.get("WEBHOOKS_METRICS_TOKEN"):
        out.ok("WEBHOOKS_METRICS_TOKEN is set: /metrics answers with that bearer token")
    else:
        out.ok("WEBHOOKS_METRICS_TOKEN is not set: /metrics is off (404)")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    out.ok(f"DATABASE_URL = {url.render_as_string(hide_password=True)}")
    if os.environ.get("SECRET_KEY"):
        fallbacks = len(app.config.get("SECRET_KEY_FALLBACKS") or ())
        out.ok("SECRET_KEY from the environment" + (
            f", with {fallbacks} old key{'s' if fallbacks != 1 else ''} in SECRET_KEY_FALLBACKS"
            if fallbacks else ""))
    else:
        out.warn("SECRET_KEY is not set: using the one generated in instance/secret_key "
                 "(set SECRET_KEY, the same for every process, in production)")
    if app.config["WEBHOOKS_LEASE_SECONDS"] < app.config["WEBHOOKS_TIMEOUT_SECONDS"] + 5:
        out.warn(f"WEBHOOKS_LEASE_SECONDS is raised to {app.config['DELIVERY'].lease:g} "
                 "(it must outlast an attempt)")


def _database(app: Flask, out: Report) -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # any failure to connect is the finding
        out.fail(f"cannot reach the database: {str(exc).splitlines()[0]}")
        return False
    out.ok(f"reachable ({db.engine.dialect.name})")
    migrate = app.extensions["migrate"]
    head = ScriptDirectory(migrate.directory).get_current_head()
    if current == head:
        out.ok(f"schema up to date (revision {current})")
    else:
        out.fail(f"schema at revision {current}, code expects {head}: run `flask db upgrade`")
        return False
    return True


def _delivery(app: Flask, out: Report) -> None:
    now = app_now()
    counts = webhook_counts(db.session)
    out.ok(f"{project_count(db.session)} projects; webhooks: {counts['active']} on, "
           f"{counts['off']} off, {counts['deactivated']} deactivated by failures")
    due = backlog(db.session, now)
    poll = app.config["WEBHOOKS_POLL_SECONDS"]
    if due.due and due.oldest_due_seconds > max(60, 10 * poll):
        out.warn(f"{due.due} deliveries due, the oldest for {due.oldest_due_seconds:.0f} s: "
                 "is a scheduler running (a web process with SCHEDULER_ENABLED=1, or "
                 "`flask worker`)?")
    else:
        out.ok(f"{due.due} deliveries due now")
    _secrets(app, out)


def _secrets(app: Flask, out: Report) -> None:
    found = stored_keys(db.session, app.extensions["secret_box"])
    if not found:
        out.ok("no webhook yet: secrets not checked")
        return
    if found[StoredKey.CURRENT]:
        out.ok(f"{found[StoredKey.CURRENT]} webhook secrets decrypt with this SECRET_KEY")
    if found[StoredKey.FALLBACK]:
        out.warn(f"{found[StoredKey.FALLBACK]} webhook secrets are still encrypted under a key "
                 "in SECRET_KEY_FALLBACKS: run `flask secrets rotate`, then drop the old key")
    if found[StoredKey.UNREADABLE]:
        out.fail(f"{found[StoredKey.UNREADABLE]} webhook secrets do not decrypt with this "
                 "SECRET_KEY nor SECRET_KEY_FALLBACKS: it differs from the one they were saved "
                 "with (put that key back, or in SECRET_KEY_FALLBACKS, or rotate those "
                 "webhooks' secrets)")


def _hosts(app: Flask, out: Report) -> None:
    policy = app.extensions["host_policy"]
    parts = sorted(policy.kinds) + sorted(policy.names) + [str(n) for n in policy.networks]
    out.ok("webhooks may reach: " + (", ".join(parts) or "nothing"))
    if "*" in policy.kinds:
        out.warn("'*' lets a webhook reach any address, this machine and its network included")
    elif "private" in policy.kinds or "loopback" in policy.kinds:
        out.warn("loopback/private targets are allowed: fine for a trial or an internal "
                 "network, but anyone who can add a webhook can then reach those services")


def _mail(app: Flask, out: Report) -> None:
    from .scheduler import mailer_for

    mailer = mailer_for(app)
    if mailer is None:
        out.ok("WEBHOOKS_SMTP_URL is not set: mail is off (projects' operational webhooks "
               "are still told)")
        return
    out.ok(f"WEBHOOKS_SMTP_URL = {mailer.settings.display()}; from "
           f"{app.config['WEBHOOKS_MAIL_FROM']}; links to {app.config['WEBHOOKS_BASE_URL']}")
    try:
        out.ok(mailer.check())
    except MailError as exc:
        out.fail(f"mail cannot go out: {exc}")
    if "WEBHOOKS_BASE_URL" not in os.environ:
        out.warn("WEBHOOKS_BASE_URL is not set: links in mail point to "
                 f"{app.config['WEBHOOKS_BASE_URL']}")
