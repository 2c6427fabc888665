"""The webhooks service: an app factory in the manner of Flask's tutorial."""
from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; start the scheduler where this process should run it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        instance_path=os.path.join(root, "instance"),
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    from . import config

    app.config.from_mapping(config.from_environment(dict(os.environ), app.instance_path))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)
    app.config["DELIVERY"] = config.delivery_settings(app.config)

    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(
                          hours=app.config["WEBHOOKS_SESSION_HOURS"]))
    app.json.sort_keys = False  # keep payloads and resources in their documented order
    _init_extensions(app)
    _register_blueprints(app)
    _trust_proxies(app)

    from . import cli, errors, logs, scheduler

    logs.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    scheduler.init_app(app)
    if not app.logger.handlers or app.logger.level == logging.NOTSET:
        app.logger.setLevel(logging.INFO)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind WEBHOOKS_TRUSTED_PROXIES reverse proxies, take the client's address, scheme,
    host and prefix from their X-Forwarded-* headers (the sign-in limiter, logs and the
    session cookie's Secure flag then see the client); with 0, such headers are ignored."""
    from flask.sessions import SecureCookieSessionInterface
    from werkzeug.middleware.proxy_fix import ProxyFix

    hops = app.config["WEBHOOKS_TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)

    class SecureWhenHttps(SecureCookieSessionInterface):
        def get_cookie_secure(self, app: Flask) -> bool:
            from flask import has_request_context, request
            return super().get_cookie_secure(app) or (has_request_context()
                                                       and request.is_secure)

    app.session_interface = SecureWhenHttps()


def _init_extensions(app: Flask) -> None:
    from sqlalchemy.orm import sessionmaker

    from .crypto import SecretBox
    from .dbtx import configure_engine
    from .delivery.hosts import HostPolicy
    from .extensions import db, migrate
    from .ingest_writer import IngestWriter

    db.init_app(app)
    migrations = os.path.join(os.path.dirname(app.instance_path), "migrations")
    migrate.init_app(app, db, directory=migrations)
    with app.app_context():
        configure_engine(db.engine)
        app.extensions["ingest_writer"] = IngestWriter(sessionmaker(bind=db.engine))
    app.extensions["host_policy"] = HostPolicy.parse(app.config["WEBHOOKS_ALLOWED_HOSTS"])
    app.extensions["secret_box"] = SecretBox(app.config["SECRET_KEY"],
                                             app.config.get("SECRET_KEY_FALLBACKS") or ())
    _init_write_intent(app)


# Requests that only read here: the ingest writer stores their events, in its own transactions.
WRITES_ELSEWHERE = {"api.events.ingest_event", "api.events.ingest_batch"}


def _init_write_intent(app: Flask) -> None:
    """Requests that change things begin write transactions (see `webhooks.dbtx`)."""
    from flask import request

    from .dbtx import set_write_intent

    @app.before_request
    def mark_writes():
        set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS")
                         and request.endpoint not in WRITES_ELSEWHERE)

    @app.teardown_request
    def clear_writes(_exc):
        set_write_intent(False)


def _register_blueprints(app: Flask) -> None:
    from . import health, metrics, security, ui
    from .api import bp as api_bp
    from .api import children as api_children

    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(api_bp)
    ui.init_app(app)
    for blueprint in (api_bp, *api_children):  # bearer tokens, never cookies: no CSRF
        ui.csrf.exempt(blueprint)
    security.init_app(app)
