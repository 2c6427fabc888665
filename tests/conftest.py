"""Fixtures: an app on a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
a real HTTP receiver on 127.0.0.1, a fake clock, and helpers to drive the dispatcher."""
from __future__ import annotations

import os
import re
import signal
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from webhooks import create_app, manage
from webhooks.auth import create_token, create_user
from webhooks.delivery.dispatcher import Dispatcher
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.sender import AsyncioSender
from webhooks.extensions import db
from webhooks.models import Base, Project
from webhooks.scheduler import sender_for

from .processes import kill_strays
from .receiver import Receiver
from .smtp import MailServer

# A test run started in the background by a non-interactive shell (`.ci/run &`) inherits
# SIGINT and SIGQUIT ignored, and so would every `flask run` the tests start: one that then
# ignores the SIGINT the tests stop it with. Give them back their defaults.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

PG_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite", "postgresql"]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 3, 22, 12, 0, 0)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@contextmanager
def fresh_pg_database(prefix: str):
    """Create a PostgreSQL database of our own on TEST_DATABASE_URL's server; drop it after."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL database of this test session's own, with the schema."""
    with fresh_pg_database("webhooks_test") as url:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """The URL of an empty database with the schema: a SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    url = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


@pytest.fixture(params=DATABASES)
def empty_database(request, tmp_path):
    """The URL of a brand-new, empty database (no schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'proc.sqlite3'}"
        return
    with fresh_pg_database("webhooks_proc") as url:
        yield url


@pytest.fixture
def config_overrides():
    """Extra settings a test module may override."""
    return {}


@pytest.fixture
def make_sender():
    """make_sender(policy, **options): a sender, closed after the test."""
    made = []

    def make(policy, **options):
        made.append(AsyncioSender(policy, **options))
        return made[-1]

    yield make
    for sender in made:
        sender.close()


@pytest.fixture
def app(database_url, config_overrides, clock):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WEBHOOKS_ALLOWED_HOSTS": "loopback",
        "WEBHOOKS_TIMEOUT_SECONDS": 2.0,
        "CLOCK": clock,
        **config_overrides,
    })
    with app.app_context():
        if database_url.startswith("sqlite"):
            Base.metadata.create_all(db.engine)
        yield app
        db.session.remove()
        sender = app.extensions.get("webhooks_sender")
        if sender is not None:
            sender.close()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def mail_server():
    """A real SMTP server on 127.0.0.1 that keeps what it receives (tests/smtp.py)."""
    server = MailServer()
    yield server
    server.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def dispatch(app, clock):
    """Run the dispatcher until idle, with the fake clock; returns the number recorded."""
    factory = sessionmaker(bind=db.engine, expire_on_commit=False)

    def run(**kwargs) -> int:
        db.session.commit()  # end the test's own transaction, as a request would
        dispatcher = Dispatcher(factory, sender_for(app), app.extensions["secret_box"].decrypt,
                                app.config["DELIVERY"], clock, idle_wait=0.05, **kwargs)
        return dispatcher.run_until_idle()

    return run


@pytest.fixture
def admin(app, clock):
    user = create_user(db.session, "admin@example.com", "correct horse", True, clock())
    db.session.commit()
    return user


@pytest.fixture
def project(app, clock):
    project = Project(id=774, name="TaskView", created_at=clock(), updated_at=clock())
    db.session.add(project)
    db.session.commit()
    return project


@pytest.fixture
def make_token(app, admin, clock):
    """Create a token for the admin (or a given user): make_token("events:write", projects=[..])."""
    def make(scopes: str = "events:write,webhooks:read,webhooks:write,projects:write",
             projects=None, user=None, expires_at=None) -> str:
        _, plaintext = create_token(db.session, user or admin, "test", scopes, projects,
                                    expires_at, clock())
        db.session.commit()
        return plaintext

    return make


@pytest.fixture
def token(make_token):
    return make_token()


@pytest.fixture
def auth_headers(token):
    return {"Authorization": f"Bearer {token}"}


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def ui_login(client):
    """Sign in through the login form; returns a CSRF token valid for the session."""
    def login(email: str = "admin@example.com", password: str = "correct horse") -> str:
        page = client.get("/login").get_data(as_text=True)
        token = CSRF_RE.search(page).group(1)
        response = client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        # Signing in starts a fresh session, and with it a fresh CSRF token. Requests in a test
        # share the test's app context, so forget the token Flask-WTF cached in `g`.
        g.pop("csrf_token", None)
        return CSRF_RE.search(client.get("/tokens").get_data(as_text=True)).group(1)

    return login


@pytest.fixture
def ui(client, admin, ui_login):
    """The test client signed in as the administrator, and htmx-style headers with CSRF."""
    token = ui_login()
    return client, {"X-CSRFToken": token, "HX-Request": "true"}


@pytest.fixture
def stamp_head(app):
    """Record the schema (made from the models) as migrated to the newest revision."""
    from alembic.script import ScriptDirectory

    def stamp() -> None:
        head = ScriptDirectory(app.extensions["migrate"].directory).get_current_head()
        db.session.execute(text("CREATE TABLE alembic_version "
                                "(version_num VARCHAR(32) NOT NULL)"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})
        db.session.commit()

    yield stamp
    db.session.rollback()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


@pytest.fixture
def add_project(app, clock):
    def add(project_id: int, name: str = "Other") -> Project:
        project = Project(id=project_id, name=name, created_at=clock(), updated_at=clock())
        db.session.add(project)
        db.session.commit()
        return project
    return add


@pytest.fixture
def add_webhook(app, clock, receiver):
    """add_webhook(project, events, active=True) -> (webhook id, secret)."""
    def add(project: Project, events, active: bool = True, url: str | None = None):
        webhook, secret = manage.create_webhook(
            db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"), project,
            url or receiver.url(), list(events), clock())
        webhook.active = active
        db.session.commit()
        return webhook.id, secret
    return add


@pytest.fixture
def writer(make_token, project):
    """An admin's events:write token for all projects."""
    return make_token("events:write")


@pytest.fixture(autouse=True)
def _no_stray_processes():
    """A test that fails before stopping its `flask` processes must not leave them running."""
    yield
    kill_strays()


def pytest_collection_modifyitems(config, items):
    """Slow tests first: with several test processes, the long ones then overlap the rest."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
