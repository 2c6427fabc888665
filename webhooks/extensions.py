"""Flask extensions, created unbound and bound in the factory."""
from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from .models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)


def app_now():
    """The current time by the app's clock (tests put a fake clock in config["CLOCK"])."""
    from flask import current_app

    from .clock import utcnow

    return current_app.config.get("CLOCK", utcnow)()


def host_policy():
    """The app's WEBHOOKS_ALLOWED_HOSTS, parsed once when the app was made."""
    from flask import current_app

    return current_app.extensions["host_policy"]
