"""Engine tuning and write transactions, without Flask.

SQLite allows one writer at a time. A transaction that reads and then writes must take the
write lock when it begins (`BEGIN IMMEDIATE`), or a concurrent commit can make its first
write fail at once with "database is locked" instead of waiting. Readers stay `BEGIN`
(deferred), so pages and lists never queue behind the dispatcher. Code that is about to
write marks its thread with `writing()` before its transaction begins.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

_intent = threading.local()


def set_write_intent(on: bool) -> None:
    """Make transactions begun on this thread take the write lock at once (SQLite)."""
    _intent.on = on


@contextmanager
def writing():
    """Within this block, transactions begun on this thread are write transactions."""
    previous = getattr(_intent, "on", False)
    _intent.on = True
    try:
        yield
    finally:
        _intent.on = previous


def configure_engine(engine: Engine) -> None:
    """Tune a new engine: SQLite gets WAL, a busy timeout and explicit transaction control."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's begin hook issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if getattr(_intent, "on", False) else "BEGIN")
