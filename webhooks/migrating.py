"""Schema upgrades that never lose a row (SPEC §6), and SQLite backups before them.

SQLite cannot change most of a table in place, so Alembic's batch mode rebuilds it: copy it,
drop the old table, rename the copy. With foreign keys on, dropping the old `webhooks` table
cascades (`ON DELETE CASCADE`) and empties `deliveries` and `delivery_attempts`. So on SQLite
every migration runs with foreign keys off (the pragma is a no-op inside a transaction, so it
is set before BEGIN), all of them in one transaction that commits only if
`PRAGMA foreign_key_check` finds every reference whole. No Flask here.
"""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .dbtx import writing

BACKUPS_KEPT = 5


class DanglingReferences(RuntimeError):
    """A migration left rows pointing at rows that are gone; the upgrade is rolled back."""


@contextmanager
def migration_connection(engine: Engine):
    """A connection to run migrations on: on SQLite, foreign keys off and the write lock."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection if _is_sqlite(engine) else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # before BEGIN, or it does nothing
        try:
            with writing():
                yield connection
        finally:
            if raw is not None:
                connection.rollback()
                raw.execute("PRAGMA foreign_keys=ON")


def check_references(connection: Connection) -> None:
    """On SQLite, refuse to commit a schema in which any row points at nothing."""
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL enforces foreign keys during the migration itself
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        tables = sorted({row[0] for row in dangling})
        raise DanglingReferences(
            f"after the upgrade, {len(dangling)} rows of {', '.join(tables)} would point at rows "
            "that do not exist (`PRAGMA foreign_key_check` lists them); the upgrade was rolled "
            "back and nothing was changed")


def revisions(engine: Engine, directory: str,
              target: str = "heads") -> tuple[str | None, list[str]]:
    """The database's revision, and the revisions an upgrade to `target` would apply, in order.

    Raises alembic's CommandError for a target it cannot resolve.
    """
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    pending = ScriptDirectory(directory).iterate_revisions(target, current)
    return current, [script.revision for script in pending][::-1]


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The file of an SQLite database (None for PostgreSQL or an in-memory database)."""
    if not _is_sqlite(engine) or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(engine.url.database)


def backup_folder(database: Path) -> Path:
    """Where backups go: `backups/` beside the database file (instance/backups/ by default),
    on the same disk and with the same permissions as the data."""
    return database.parent / "backups"


def backup_sqlite(source: Path, label: str, now: datetime, folder: Path | None = None,
                  keep: int = BACKUPS_KEPT) -> Path:
    """Copy an SQLite database with SQLite's online backup API into `folder` (default:
    `backup_folder`); keep the newest `keep` copies there.

    The copy is whole even while other processes write: it is written under a temporary name
    and renamed into place only when complete.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no database file at {source}")
    folder = folder or backup_folder(source)
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = f"{source.stem}-{now:%Y%m%dT%H%M%S}Z-{label}", source.suffix or ".sqlite3"
    target, n = folder / f"{stem}{suffix}", 1
    while target.exists():  # two backups within a second
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    partial = folder / f".{target.name}.partial"
    with closing(sqlite3.connect(source)) as src, \
            closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
    os.replace(partial, target)
    _prune_backups(folder, source, keep)
    return target


def _prune_backups(folder: Path, source: Path, keep: int) -> None:
    pattern = re.compile(rf"{re.escape(source.stem)}-\d{{8}}T\d{{6}}Z-.+")
    ours = sorted((p for p in folder.iterdir() if pattern.fullmatch(p.name)),
                  key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in ours[:-keep] if keep > 0 else ours:
        old.unlink()

