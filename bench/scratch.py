"""A scratch app for benchmarks: a fresh database with a project, webhooks and a token."""
from __future__ import annotations

from contextlib import contextmanager

from webhooks import create_app
from webhooks.auth import create_token, create_user
from webhooks.clock import utcnow
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db
from webhooks.manage import create_webhook
from webhooks.models import Base, Project

PROJECT = 774


@contextmanager
def scratch_app(database_url: str, urls: list[str], **config):
    """Yield (app, token) with one project whose webhooks point at `urls` (all events)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url,
                      "WEBHOOKS_ALLOWED_HOSTS": "loopback", **config})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        now = utcnow()
        user = create_user(db.session, "bench@example.com", "bench-password", True, now)
        project = Project(id=PROJECT, name="bench", created_at=now, updated_at=now)
        db.session.add(project)
        for url in urls:
            create_webhook(db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"),
                           project, url, ["task.created"], now)
        _, token = create_token(db.session, user, "bench", "events:write", None, None, now)
        db.session.commit()
        try:
            yield app, token
        finally:
            db.session.remove()
            sender = app.extensions.get("webhooks_sender")
            if sender is not None:
                sender.close()
            db.engine.dispose()


def task_created(task_id: int) -> dict:
    return {"event": "task.created", "timestamp": "2026-03-22T12:00:00.000Z",
            "task": {"id": task_id, "goalId": PROJECT, "description": "benchmark task"},
            "initiatorId": 1}
