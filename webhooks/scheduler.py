"""APScheduler wiring: the dispatch job, the daily prune, and the wake-up on ingest."""
from __future__ import annotations

import atexit
import logging
import os
import random
import sys
import threading
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy.orm import sessionmaker

from . import login_sessions
from .clock import iso, utcnow
from .dbtx import writing
from .delivery.dispatcher import Dispatcher
from .delivery.ports import Sender
from .delivery.prune import prune
from .delivery.sender import AsyncioSender
from .extensions import db
from .mail import Mailer, SmtpMailer
from .notify import Notifier, prune_notices

log = logging.getLogger("webhooks.scheduler")


def sender_for(app: Flask) -> Sender:
    """The app's sender, made on first use, shared by dispatch and test sends."""
    sender = app.extensions.get("webhooks_sender")
    if sender is None:
        settings = app.config["DELIVERY"]
        sender = AsyncioSender(app.extensions["host_policy"],
                               settings.max_in_flight, settings.max_response_bytes,
                               settings.kept_response_bytes, app.config["WEBHOOKS_CA_BUNDLE"])
        app.extensions["webhooks_sender"] = sender
    return sender


def mailer_for(app: Flask) -> Mailer | None:
    """The SMTP mailer of WEBHOOKS_SMTP_URL, or None when mail is off."""
    smtp = app.config.get("WEBHOOKS_SMTP_URL")
    return None if smtp is None else SmtpMailer(smtp, ca_bundle=app.config["WEBHOOKS_CA_BUNDLE"])


def notifier_for(app: Flask, session_factory: sessionmaker) -> Notifier:
    """What sends notices (SPEC §9): mail and the projects' operational webhooks."""
    return Notifier(session_factory, mailer_for(app), sender_for(app),
                    app.extensions["secret_box"].decrypt, app.config["DELIVERY"],
                    app.config.get("CLOCK", utcnow), app.config["WEBHOOKS_BASE_URL"],
                    app.config["WEBHOOKS_MAIL_FROM"])


class Runner:
    """Runs the dispatcher from an APScheduler interval job, and wakes it on ingest."""

    def __init__(self, app: Flask, blocking: bool = False):
        self.app = app
        with app.app_context():
            factory = sessionmaker(bind=db.engine, expire_on_commit=False)
        self.dispatcher = Dispatcher(factory, sender_for(app), app.extensions["secret_box"].decrypt,
                                     app.config["DELIVERY"], app.config.get("CLOCK", utcnow),
                                     idle_wait=min(1.0, app.config["WEBHOOKS_POLL_SECONDS"]),
                                     on_turn=self._beat)
        self.session_factory = factory
        self.notifier = notifier_for(app, factory)
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._running = False
        self.last_tick: datetime | None = None
        self.scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
            executors={"default": JobExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC")
        self.scheduler.add_job(self.tick, "interval", id="dispatch",
                               seconds=app.config["WEBHOOKS_POLL_SECONDS"],
                               next_run_time=datetime.now().astimezone())
        self.scheduler.add_job(self.notify, "interval", id="notify",
                               seconds=app.config["WEBHOOKS_POLL_SECONDS"],
                               next_run_time=datetime.now().astimezone())
        self.scheduler.add_job(self.prune, "interval", id="prune", hours=24,
                               next_run_time=datetime.now().astimezone()
                               + timedelta(minutes=random.uniform(1, 10)))

    def start(self) -> None:
        """Start; returns at once for a background scheduler, at shutdown for a blocking one."""
        log.info("scheduler starting (poll every %s s)", self.app.config["WEBHOOKS_POLL_SECONDS"])
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop claiming, let attempts in flight finish and be recorded, then stop."""
        self.dispatcher.stopping.set()
        self.dispatcher.nudge()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def tick(self) -> None:
        """The dispatch job: deliver until idle, again if woken meanwhile."""
        with self._lock:
            self._running = True
        try:
            while True:
                self._woken.clear()
                self.last_tick = utcnow()
                self.dispatcher.run_until_idle()
                with self._lock:
                    if not self._woken.is_set() or self.dispatcher.stopping.is_set():
                        self._running = False
                        return
        except Exception:
            log.exception("dispatch tick failed; the next tick will try again")
        finally:
            with self._lock:
                self._running = False

    def _beat(self) -> None:
        """The dispatcher took a turn: a long round under load still shows as alive."""
        self.last_tick = utcnow()

    def wake(self) -> None:
        """New work is due now: run the dispatch job at once (or tell the running one)."""
        with self._lock:
            self._woken.set()
            if self._running:
                self.dispatcher.nudge()
                return
        try:
            self.scheduler.modify_job("dispatch", next_run_time=datetime.now().astimezone())
        except Exception:  # the scheduler is shutting down; the next process start will poll
            log.debug("could not wake the scheduler", exc_info=True)

    def notify(self) -> None:
        """The notice job: send due notices; a failing mail server only delays them."""
        try:
            self.notifier.run_until_idle()
        except Exception:
            log.exception("notice job failed; the next run will try again")

    def prune(self) -> None:
        """The daily retention job."""
        days = self.app.config["WEBHOOKS_RETENTION_DAYS"]
        with writing(), self.session_factory() as session:
            deliveries, events = prune(session, utcnow(), timedelta(days=days))
            sessions = login_sessions.prune(session, utcnow())
            prune_notices(session, utcnow(), timedelta(days=days))
            session.commit()
        log.info("pruned %d deliveries and %d events older than %s days, and %d expired "
                 "sign-in sessions", deliveries, events, days, sessions)

    def health(self) -> dict:
        return {"running": bool(self.scheduler.running), "lastTick": iso(self.last_tick)}


def wake(app: Flask) -> None:
    """Tell this process's scheduler, if it runs one, that work is due."""
    runner = app.extensions.get("webhooks_scheduler")
    if runner is not None:
        runner.wake()


def should_start(app: Flask, argv: list[str] | None = None,
                 environ: dict | None = None) -> bool:
    """Whether this process should run the scheduler inside the web app."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if not app.config["SCHEDULER_ENABLED"] or app.testing:
        return False
    command = flask_command(argv)
    if command is None:
        return True  # a WSGI server such as gunicorn imported the app
    if command != "run":
        return False  # `flask worker` starts its own; other commands need none
    uses_reloader = ("--reload" in argv or (
        ("--debug" in argv or environ.get("FLASK_DEBUG", "") in ("1", "true"))
        and "--no-reload" not in argv))
    return not uses_reloader or environ.get("WERKZEUG_RUN_MAIN") == "true"


def flask_command(argv: list[str]) -> str | None:
    """The subcommand when running under the `flask` CLI, else None."""
    program = os.path.basename(argv[0]) if argv else ""
    if program != "flask" and not argv[0].endswith(os.path.join("flask", "__main__.py")):
        return None
    skip_next = False
    for arg in argv[1:]:
        if skip_next:
            skip_next = False
        elif arg in ("--app", "-A", "--env-file", "-e"):
            skip_next = True
        elif not arg.startswith("-"):
            return arg
    return ""


def init_app(app: Flask) -> None:
    """Start the background scheduler when this process should run it."""
    if should_start(app):
        runner = Runner(app)
        app.extensions["webhooks_scheduler"] = runner
        runner.start()
        _stop_at_exit(runner)


def _stop_at_exit(runner: Runner) -> None:
    """At interpreter exit (a gunicorn worker stopping), finish attempts in flight first.

    Thread pools are joined before `atexit` handlers run, and the dispatch job only returns
    when told to stop, so the stop must be registered where thread pools register theirs.
    """
    register = getattr(threading, "_register_atexit", None) or atexit.register
    try:
        register(runner.shutdown)
    except RuntimeError:  # the interpreter is already shutting down
        pass
