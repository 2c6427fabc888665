"""Assertions shared by the API tests."""
from __future__ import annotations


def assert_error(response, status: int, field=...) -> dict:
    """The response is `status` with the SPEC §3 error shape; returns the error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert set(error) <= {"code", "message", "field"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if field is not ...:
        assert error.get("field") == field
    return error


def seed_backlog(app, project, clock, urls: list[str], events: int) -> None:
    """Webhooks on `urls` (task.created), then `events` task.created events: one pending
    delivery per webhook and event, committed."""
    from webhooks import manage
    from webhooks.delivery.hosts import HostPolicy
    from webhooks.extensions import db
    from webhooks.ingest import store_event

    box, policy = app.extensions["secret_box"], HostPolicy.parse("loopback")
    for url in urls:
        manage.create_webhook(db.session, box, policy, project, url, ["task.created"], clock())
    db.session.commit()
    for task in range(events):
        store_event(db.session, 774, {"event": "task.created",
                                      "timestamp": "2026-03-22T12:00:00.000Z",
                                      "task": {"id": task, "goalId": 774}, "initiatorId": None},
                    clock())
    db.session.commit()


class Browser:
    """A test client whose every request runs in an app context of its own, as in a server.

    The tests' `app` fixture holds one app context open, and requests made within it share its
    `g` (Flask-Login's current user, Flask-WTF's CSRF token): fine for one client, wrong for
    several browsers in one test.
    """

    def __init__(self, app, client=None):
        self.app, self.client = app, client or app.test_client()

    def open(self, method: str, url: str, **kwargs):
        with self.app.app_context():
            return self.client.open(url, method=method, buffered=True, **kwargs)

    def get(self, url: str, **kwargs):
        return self.open("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.open("POST", url, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def task_event(goal_id: int = 774, event: str = "task.created", **task) -> dict:
    return {"event": event, "task": {"id": 1, "goalId": goal_id, **task}}


def counts() -> tuple[int, int]:
    """(events, deliveries) stored, read afresh."""
    from sqlalchemy import func, select

    from webhooks.extensions import db
    from webhooks.models import Delivery, Event

    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(Event)),
            db.session.scalar(select(func.count()).select_from(Delivery)))
