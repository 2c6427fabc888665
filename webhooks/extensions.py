"""Flask extensions, created unbound and bound in the factory."""
from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)


def configure_engine(engine: Engine) -> None:
    """Tune a new engine: SQLite gets WAL, a busy timeout and IMMEDIATE transactions."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Take transaction control from pysqlite so that every transaction starts IMMEDIATE:
    # a transaction that reads and then writes cannot then fail with "database is locked",
    # it waits for the writer instead (the busy timeout).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def app_now():
    """The current time by the app's clock (tests put a fake clock in config["CLOCK"])."""
    from flask import current_app

    from .clock import utcnow

    return current_app.config.get("CLOCK", utcnow)()
