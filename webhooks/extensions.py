"""Flask extensions, created unbound and bound in the factory."""
from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .dbtx import configure_engine  # noqa: F401  (re-exported for the factory)
from .models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)


def app_now():
    """The current time by the app's clock (tests put a fake clock in config["CLOCK"])."""
    from flask import current_app

    from .clock import utcnow

    return current_app.config.get("CLOCK", utcnow)()
