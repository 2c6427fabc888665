"""`flask users|projects|tokens|deliveries` commands (SPEC §8)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from webhooks.auth import authenticate_token
from webhooks.extensions import db
from webhooks.models import ApiToken, Delivery, Event, Project, User


def invoke(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input)


def test_users_create_with_password_from_stdin(runner, app):
    result = invoke(runner, "users", "create", "Ada@Example.com", "--admin", "--password-stdin",
                    input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.is_admin) == ("ada@example.com", True)
    assert "s3cret-pass" not in user.password_hash


def test_users_create_with_password_prompt(runner, app):
    result = invoke(runner, "users", "create", "bob@example.com",
                    input="long-password\nlong-password\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.is_admin)) is False


def test_users_create_refuses_duplicates_and_short_passwords(runner, app):
    invoke(runner, "users", "create", "a@example.com", "--password-stdin", input="long-password\n")
    duplicate = invoke(runner, "users", "create", "a@example.com", "--password-stdin",
                       input="long-password\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = invoke(runner, "users", "create", "b@example.com", "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "at least" in short.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_projects_create_and_add_member(runner, app):
    assert invoke(runner, "projects", "create", "774", "TaskView").exit_code == 0
    invoke(runner, "users", "create", "m@example.com", "--password-stdin", input="long-password\n")
    result = invoke(runner, "projects", "add-member", "774", "m@example.com")
    assert result.exit_code == 0, result.output
    project = db.session.get(Project, 774)
    assert [u.email for u in project.members] == ["m@example.com"]
    again = invoke(runner, "projects", "create", "774", "Other")
    assert again.exit_code != 0 and "already exists" in again.output
    bad = invoke(runner, "projects", "create", "abc", "X")
    assert bad.exit_code != 0


def test_tokens_create_prints_the_token_alone_and_it_works(runner, app, admin, project, clock):
    result = runner.invoke(args=["tokens", "create", "--user", "admin@example.com", "--name", "ci",
                                 "--scopes", "events:write,webhooks:read", "--project", "774",
                                 "--expires-in", "30d"])
    assert result.exit_code == 0, result.output
    token_text = result.stdout.strip()
    assert result.stdout == token_text + "\n" and token_text.startswith("whk_")
    token = authenticate_token(db.session, token_text, clock())
    assert token is not None
    assert token.scopes == {"events:write", "webhooks:read"}
    assert token.projects == {774}
    assert token.expires_at == clock() + timedelta(days=30)
    assert token_text not in db.session.scalar(select(ApiToken.token_hash))


def test_tokens_create_refuses_unknown_scope_and_projects_write_for_members(runner, app, admin):
    bad = invoke(runner, "tokens", "create", "--user", "admin@example.com", "--name", "x",
                 "--scopes", "events:read")
    assert bad.exit_code != 0 and "unknown scope" in bad.output
    invoke(runner, "users", "create", "m@example.com", "--password-stdin", input="long-password\n")
    member = invoke(runner, "tokens", "create", "--user", "m@example.com", "--name", "x",
                    "--scopes", "projects:write")
    assert member.exit_code != 0 and "administrator" in member.output
    unknown_user = invoke(runner, "tokens", "create", "--user", "nobody@example.com", "--name",
                          "x", "--scopes", "events:write")
    assert unknown_user.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_deliveries_prune_deletes_only_old_finished_deliveries(runner, app, project, clock):
    def event(event_id, created):
        db.session.add(Event(id=event_id, project_id=774, type="task.created", body="{}",
                             delivery_count=1, created_at=created))

    from webhooks.delivery.hosts import HostPolicy
    from webhooks.manage import create_webhook
    webhook, _ = create_webhook(db.session, app.extensions["secret_box"],
                                HostPolicy.parse("loopback"), project, "http://127.0.0.1:9/",
                                ["task.created"], clock())
    old = clock() - timedelta(days=40)
    event("evt_old", old)
    event("evt_new", clock())
    event("evt_pending", old)
    db.session.flush()
    for event_id, status, completed in (("evt_old", "success", old), ("evt_new", "failed", clock()),
                                        ("evt_pending", "pending", None)):
        db.session.add(Delivery(webhook_id=webhook.id, event_id=event_id, event_type="task.created",
                                status=status, attempts=1, cycle_attempts=1, created_at=old,
                                completed_at=completed, next_attempt_at=None if completed else old))
    db.session.commit()
    result = invoke(runner, "deliveries", "prune", "--older-than", "30d")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    left = set(db.session.scalars(select(Delivery.event_id)))
    assert left == {"evt_new", "evt_pending"}
    assert set(db.session.scalars(select(Event.id))) == {"evt_new", "evt_pending"}


def _failed_deliveries(app, project, clock, count: int, active: bool = True):
    from webhooks.delivery.hosts import HostPolicy
    from webhooks.manage import create_webhook
    webhook, _ = create_webhook(db.session, app.extensions["secret_box"],
                                HostPolicy.parse("loopback"), project, "http://127.0.0.1:9/",
                                ["task.created"], clock())
    webhook.active = active
    for i in range(count):
        created = clock() - timedelta(hours=i * 10)
        db.session.add(Event(id=f"evt_{i}", project_id=774, type="task.created", body="{}",
                             delivery_count=1, created_at=created))
        db.session.flush()
        db.session.add(Delivery(webhook_id=webhook.id, event_id=f"evt_{i}",
                                event_type="task.created", status="failed", attempts=3,
                                cycle_attempts=3, created_at=created, completed_at=created))
    db.session.commit()
    return webhook


def test_deliveries_retry_failed_requeues_a_webhooks_failures(runner, app, project, clock):
    webhook = _failed_deliveries(app, project, clock, 3)
    result = runner.invoke(args=["deliveries", "retry-failed", "--webhook", str(webhook.id),
                                 "--since", "15h"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "2"  # created 0 h and 10 h ago; not 20 h ago
    db.session.rollback()
    statuses = sorted(db.session.scalars(select(Delivery.status)))
    assert statuses == ["failed", "pending", "pending"]


def test_deliveries_retry_failed_refuses_an_inactive_webhook(runner, app, project, clock):
    webhook = _failed_deliveries(app, project, clock, 1, active=False)
    result = runner.invoke(args=["deliveries", "retry-failed", "--webhook", str(webhook.id)])
    assert result.exit_code != 0 and "inactive" in result.output


def test_webhooks_list_shows_each_webhook(runner, app, project, clock):
    webhook = _failed_deliveries(app, project, clock, 1)
    result = runner.invoke(args=["webhooks", "list"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "PROJECT", "STATE", "FAILURES", "LAST", "URL", "EVENTS"]
    assert lines[1].split()[:5] == [str(webhook.id), "774", "on", "0", "failed"]


def test_doctor_reports_a_schema_behind_the_code_and_then_all_clear(runner, app, project,
                                                                     clock, stamp_head):
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "run `flask db upgrade`" in result.output
    stamp_head()
    _failed_deliveries(app, project, clock, 1)
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.output
    assert "webhook secrets decrypt with this SECRET_KEY" in result.output
    assert "0 problems found" in result.output


def test_doctor_notices_a_changed_secret_key(runner, app, project, clock, stamp_head):
    from webhooks.crypto import SecretBox
    stamp_head()
    _failed_deliveries(app, project, clock, 1)
    app.extensions["secret_box"] = SecretBox("another key")
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "webhook secrets do not decrypt with this SECRET_KEY" in result.output
