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
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT = logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")  # Flask's


def init_app(app: Flask) -> None:
    """Put the chosen format on Flask's handler (one per process, as is the setting)."""
    json_lines = app.config.get("WEBHOOKS_LOG_FORMAT") == "json"
    default_handler.setFormatter(JsonFormatter() if json_lines else TEXT)
