"""Log format: Flask's text lines (default) or one JSON object per line (WEBHOOKS_LOG_FORMAT).

A JSON line has `time`, `level`, `logger` and `message`; a line logged with
`extra={"fields": {...}}` (each delivery attempt is) carries those fields too, so a log
pipeline can filter on `delivery_id` or `webhook_id` without parsing the message.
"""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask import Flask
from flask.logging import default_handler


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            entry.update(access_fields(record.args))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# gunicorn's access-log atoms, as fields named like the rest of our JSON lines.
ACCESS_ATOMS = {"h": "client", "m": "method", "U": "path", "q": "query", "s": "status",
                "B": "bytes", "D": "duration_us", "a": "user_agent", "f": "referer"}


def access_fields(atoms: dict) -> dict:
    """The fields of one gunicorn access line (the client's address is the proxy's unless
    WEBHOOKS_TRUSTED_PROXIES says how many to look through)."""
    fields = {name: atoms.get(atom) for atom, name in ACCESS_ATOMS.items()}
    for number in ("status", "bytes", "duration_us"):
        try:
            fields[number] = int(fields[number])
        except (TypeError, ValueError):
            pass
    return fields


def gunicorn_logconfig() -> dict:
    """gunicorn's `logconfig_dict` for JSON lines: its error and access loggers too."""
    def handler(stream: str) -> dict:
        return {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}

    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "webhooks.logs.JsonFormatter"}},
        "handlers": {"error": handler("ext://sys.stderr"), "access": handler("ext://sys.stdout")},
        "root": {"level": "INFO", "handlers": ["error"]},
        "loggers": {"gunicorn.error": {"handlers": ["error"], "level": "INFO",
                                       "propagate": False},
                    "gunicorn.access": {"handlers": ["access"], "level": "INFO",
                                        "propagate": False}},
    }


TEXT = logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")  # Flask's


def init_app(app: Flask) -> None:
    """Put the chosen format on Flask's handler (one per process, as is the setting)."""
    json_lines = app.config.get("WEBHOOKS_LOG_FORMAT") == "json"
    default_handler.setFormatter(JsonFormatter() if json_lines else TEXT)
