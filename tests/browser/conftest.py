"""Browser tests: a live server on 127.0.0.1 (with its scheduler), headless Chromium via Playwright.

Chromium is Debian's /usr/bin/chromium (Playwright's own download cannot work here). In CI
(CI=true) a browser test that would be skipped fails instead.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from webhooks import create_app
from webhooks.auth import create_user
from webhooks.clock import utcnow
from webhooks.dbtx import writing
from webhooks.extensions import db
from webhooks.models import Base, Project, User
from webhooks.scheduler import Runner

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The suite shares 2 cores with servers and workers: give assertions room before they fail.
expect.set_options(timeout=10_000)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "correct horse battery"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped browser test is a failure: the UI must really have been exercised."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("browser"):
        report.outcome = "failed"
        report.longrepr = f"browser test skipped in CI: {report.longrepr}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    home = tempfile.mkdtemp(prefix="chromium-home-")
    os.environ.setdefault("XDG_CONFIG_HOME", home)
    os.environ.setdefault("XDG_CACHE_HOME", home)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


class LiveServer:
    """The app served over real HTTP on 127.0.0.1, with the delivery scheduler running."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.runner = Runner(app)

    def start(self):
        self.thread.start()
        self.runner.start()
        self.app.extensions["webhooks_scheduler"] = self.runner

    def stop(self):
        self.runner.shutdown()
        self.server.shutdown()

    def query(self, fn):
        """Run fn() inside an app context (for direct database checks and set-up), in a write
        transaction: the live scheduler writes meanwhile (see webhooks.dbtx)."""
        with self.app.app_context(), writing():
            try:
                return fn()
            finally:
                db.session.remove()


@pytest.fixture
def live_server(tmp_path):
    folder = tempfile.mkdtemp(prefix="webhooks-live-")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/live.sqlite3",
        "SECRET_KEY": "browser-test-key",
        "WEBHOOKS_ALLOWED_HOSTS": "loopback",
        "WEBHOOKS_POLL_SECONDS": 0.2,
        "WEBHOOKS_RETRY_DELAYS": (0.5, 1.0),
        "WEBHOOKS_TIMEOUT_SECONDS": 2.0,
        "SCHEDULER_ENABLED": False,
    })
    with app.app_context():
        Base.metadata.create_all(db.engine)
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def seeded(live_server):
    """An administrator and project 774 exist; returns the live server."""
    def seed():
        now = utcnow()
        create_user(db.session, ADMIN_EMAIL, ADMIN_PASSWORD, True, now)
        db.session.add(Project(id=774, name="TaskView", created_at=now, updated_at=now))
        db.session.commit()
    live_server.query(seed)
    return live_server


def sign_in(page, server, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def admin_page(page, seeded):
    """A page signed in as the administrator."""
    sign_in(page, seeded)
    return page


def screenshot(page, name: str, full_page: bool = True) -> None:
    """Save a screenshot for the README under docs/screenshots/ (`make screenshots` sets
    WEBHOOKS_SCREENSHOTS=1; ordinary runs leave the committed pictures alone); of the
    viewport alone if not `full_page`."""
    if not os.environ.get("WEBHOOKS_SCREENSHOTS"):
        return
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = os.path.join(root, "docs", "screenshots")
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=full_page)


def user_count(server) -> int:
    return server.query(lambda: db.session.query(User).count())


def idle(page) -> None:
    """Wait until htmx has finished: swapped-in content is live only once it has settled."""
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)
