"""Upgrades keep every row (SPEC §6), on SQLite and PostgreSQL, for every revision.

Each test builds a database at a revision (Flask-Migrate's upgrade, in-process: the same
`migrations/env.py` as `flask db upgrade`), fills every table of that schema with rows of every
column type (unicode, NULLs, 64-bit ids, microseconds), migrates, and compares every row and
value. A new migration in `migrations/versions` joins these tests by itself. The `flask db`
commands themselves (backups, refusals) run as real processes, as users run them.
"""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Text,
    create_engine,
    select,
)

from webhooks import create_app
from webhooks.extensions import db
from webhooks.migrating import backup_sqlite

from .conftest import PG_URL
from .processes import ROOT, flask, flask_env

SCRIPTS = ScriptDirectory(str(ROOT / "migrations"))
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
ROWS = 3
UNICODE = "Ünïcødé ✓ 🚀 «quotes» \"\\ \u2028 日本語"


def migrate(url: str, command: str, revision: str = "head") -> None:
    """`flask db upgrade|downgrade REVISION`, in this process."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        getattr(flask_migrate, command)(revision=revision)
        db.engine.dispose()


def _value(table, column, i: int, made: dict):
    """A value for row i of a column: a parent's key, NULL, or one of the column's type."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column
        return made[target.table.name][i % ROWS][target.name]
    if column.nullable and not column.primary_key and i == 0:
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return i % 2 == 1
    if isinstance(kind, BigInteger):
        return 2 ** 40 + i
    if isinstance(kind, Integer):
        return i + 1 if column.primary_key else 1000 + 7 * i
    if isinstance(kind, Float):
        return 0.5 + i
    if isinstance(kind, DateTime):
        return datetime(2026, 3, 22, 12, i, 30 + i, 123456 + i)
    if isinstance(kind, Text):
        return json.dumps({"n": i, "task": {"description": UNICODE}}, ensure_ascii=False)
    if isinstance(kind, String):
        return f"{i} {table.name}.{column.name} {UNICODE}"[:kind.length or 200]
    raise AssertionError(f"no test value for {table.name}.{column.name} ({kind!r})")


def fill(url: str) -> dict[str, list[dict]]:
    """Insert ROWS rows into every table of the schema as it stands; return them by table."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    made: dict[str, list[dict]] = {}
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = []
            for i in range(ROWS):
                rows.append({c.name: _value(table, c, i, made) for c in table.columns})
            conn.execute(table.insert(), rows)
            made[table.name] = rows
    engine.dispose()
    return made


def read(url: str, like: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Every row of the tables in `like`, with the columns `like` has, in key order."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    found = {}
    with engine.connect() as conn:
        for name, rows in like.items():
            table = meta.tables.get(name)
            if table is None:
                continue
            columns = [table.c[c] for c in rows[0] if c in table.c]
            query = select(*columns).order_by(*table.primary_key.columns)
            found[name] = [dict(row._mapping) for row in conn.execute(query)]
    engine.dispose()
    return found


def _in_key_order(made: dict[str, list[dict]], url: str) -> dict[str, list[dict]]:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    engine.dispose()
    ordered = {}
    for name, rows in made.items():
        keys = [c.name for c in meta.tables[name].primary_key.columns]
        ordered[name] = sorted(rows, key=lambda row: [row[k] for k in keys])
    return ordered


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrading_from_each_revision_keeps_every_row(empty_database, start):
    migrate(empty_database, "upgrade", start)
    made = _in_key_order(fill(empty_database), empty_database)
    migrate(empty_database, "upgrade")
    assert read(empty_database, made) == made
    assert sum(len(rows) for rows in made.values()) >= ROWS * 8


@pytest.mark.parametrize("revision", REVISIONS[1:])
def test_downgrade_then_upgrade_keeps_the_rows_of_the_earlier_schema(empty_database, revision):
    earlier = SCRIPTS.get_revision(revision).down_revision
    migrate(empty_database, "upgrade", revision)
    made = _in_key_order(fill(empty_database), empty_database)
    migrate(empty_database, "downgrade", earlier)
    kept = read(empty_database, made)
    assert {name: [{c: row[c] for c in rows[0]} for row in made[name]]
            for name, rows in kept.items()} == kept
    migrate(empty_database, "upgrade", revision)
    assert read(empty_database, kept) == kept


def test_upgrading_to_the_trends_rollup_fills_it_from_the_history_kept(empty_database):
    """0007 adds the rollups and fills them from the deliveries and attempts already there:
    the charts read after the upgrade what the rows themselves say, and go on doing so as
    outcomes are recorded into the hours the upgrade filled."""
    from sqlalchemy.orm import Session

    from webhooks.config import DeliverySettings
    from webhooks.models import Project, Webhook
    from webhooks.trends import project_trends, webhook_trends

    from .trends_history import NOW, as_reported, direct, from_trends, random_history, record
    from .trends_history import store as store_rows

    migrate(empty_database, "upgrade", SCRIPTS.get_revision("0007").down_revision)
    engine = create_engine(empty_database)
    with Session(engine) as session:
        for project_id in (774, 775):
            session.execute(Project.__table__.insert().values(
                id=project_id, name="p", created_at=NOW, updated_at=NOW))
        for webhook_id, project_id in ((1, 774), (2, 774), (3, 775)):
            session.execute(Webhook.__table__.insert().values(
                id=webhook_id, project_id=project_id, url="https://example.com/", events="",
                secret_encrypted="x", active=True, standard_webhooks=False,
                consecutive_failures=0, created_at=NOW, updated_at=NOW))
        store_rows(session, random_history([1, 2, 3], count=400, seed=7))
    migrate(empty_database, "upgrade")
    with Session(engine) as session:
        for recorded_after in (False, True):  # then outcomes recorded into the same hours
            if recorded_after:
                record(session, random_history([1, 2, 3], count=150, seed=8), DeliverySettings())
            for webhook_id in (1, 2, 3):
                assert from_trends(webhook_trends(session, webhook_id, NOW)) == as_reported(
                    direct(session, [webhook_id], NOW))
            expected = as_reported(direct(session, [1, 2], NOW))
            assert from_trends(project_trends(session, 774, NOW)) == expected
            assert sum(row[1] + row[2] for row in expected["30d"]) > 100
    engine.dispose()


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def _sqlite_file(tmp_path) -> tuple[str, Path]:
    path = tmp_path / "data" / "webhooks.sqlite3"
    path.parent.mkdir()
    return f"sqlite:///{path}", path


def test_an_upgrade_of_sqlite_first_backs_the_file_up_and_says_where(tmp_path):
    url, path = _sqlite_file(tmp_path)
    env = flask_env(url)
    assert "backed up" not in _flask(env, "db", "upgrade", REVISIONS[0]).stderr  # new database
    made = fill(url)
    result = _flask(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    backups = list((path.parent / "backups").iterdir())
    assert [b.name for b in backups] == [
        re.fullmatch(rf"webhooks-\d{{8}}T\d{{6}}Z-{REVISIONS[0]}-to-{REVISIONS[-1]}\.sqlite3",
                     backups[0].name).group(0)]
    assert f"backed up the database to {backups[0]}" in result.stderr
    backup_url = f"sqlite:///{backups[0]}"
    assert read(backup_url, made) == _in_key_order(made, backup_url)  # the data as it was
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (REVISIONS[0],)]
    assert "backed up" not in _flask(env, "db", "upgrade").stderr  # nothing left to apply


def test_flask_db_backup_prints_the_copy(tmp_path):
    url, path = _sqlite_file(tmp_path)
    env = flask_env(url)
    flask(env, "db", "upgrade")
    made = Path(flask(env, "db", "backup").strip())
    assert made.parent == path.parent / "backups"
    assert re.fullmatch(rf"webhooks-\d{{8}}T\d{{6}}Z-at-{REVISIONS[-1]}\.sqlite3", made.name)
    with sqlite3.connect(made) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_backups_keep_the_newest_five_and_never_overwrite_one_another(tmp_path):
    url, path = _sqlite_file(tmp_path)
    migrate(url, "upgrade")
    now = datetime(2026, 3, 22, 12, 0, 0)
    made, folder = [], path.parent / "backups"
    for n in range(7):
        made.append(backup_sqlite(path, "at-x", now))  # all in one second: -2, -3, ...
        assert len(list(folder.iterdir())) == min(n + 1, 5)  # none overwritten
    assert sorted(folder.iterdir()) == sorted(made[-5:])


def test_flask_db_backup_on_postgresql_points_to_pg_dump():
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    result = _flask(flask_env(PG_URL), "db", "backup")
    assert result.returncode == 1 and "pg_dump" in result.stderr


def test_an_upgrade_that_would_leave_dangling_rows_changes_nothing(tmp_path):
    url, path = _sqlite_file(tmp_path)
    env = flask_env(url)
    flask(env, "db", "upgrade", REVISIONS[0])
    made = fill(url)
    with sqlite3.connect(path) as conn:  # foreign keys are off in a bare connection
        conn.execute("UPDATE deliveries SET webhook_id = 999 WHERE id = 1")
    before = read(url, made)
    result = _flask(env, "db", "upgrade")
    assert result.returncode != 0
    assert "1 rows of deliveries would point at rows that do not exist" in result.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (REVISIONS[0],)]
    assert read(url, made) == before
