"""Settings read from the environment (SPEC §8)."""
from __future__ import annotations

import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .mail import parse_smtp_url
from .version import __version__


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def database_url(raw: str | None, instance_path: str) -> str:
    """Return the SQLAlchemy URL for DATABASE_URL, defaulting to SQLite in instance/."""
    if not raw:
        return "sqlite:///" + os.path.join(instance_path, "webhooks.sqlite3")
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def _number(name: str, raw: str, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum or value != value:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _flag(raw: str) -> bool:
    return raw.strip().lower() not in ("0", "false", "no", "off", "")


def _delays(raw: str) -> tuple[float, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    return tuple(_number("WEBHOOKS_RETRY_DELAYS", p, 0) for p in parts)


LOG_FORMATS = ("text", "json")
# Attempts in flight per process. Measured (README, Performance): 100 receivers answering after
# 200 ms get 1,135 deliveries/s at 256 against 146/s at 32, and one webhook (which may take a
# quarter of the slots) 4,200/s to a fast receiver against 2,300/s; 512 adds half again for
# twice the sockets.
SEND_CONCURRENCY = 256


def _one_of(name: str, choices: tuple[str, ...]):
    """A parser for a setting that takes one of `choices` (any case, spaces ignored)."""
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value
    return parse


def _ca_bundle(path: str) -> str | None:
    """A PEM file of CA certificates that exists and parses, or None when unset."""
    if not path:
        return None
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"WEBHOOKS_CA_BUNDLE must be a readable PEM file of CA certificates: "
                          f"{path!r}: {exc}") from None
    return path


def _smtp_url(raw: str):
    try:
        return parse_smtp_url(raw)
    except ValueError as exc:
        raise ConfigError(f"WEBHOOKS_SMTP_URL {exc}") from None


def _base_url(raw: str) -> str:
    """The public address of the UI, for links in mail: http(s)://host[:port][/path]."""
    value = raw.strip().rstrip("/")
    try:
        host = urlsplit(value).hostname
    except ValueError:
        host = None
    if not value.startswith(("http://", "https://")) or not host:
        raise ConfigError(f"WEBHOOKS_BASE_URL must be the http(s) address people open the UI "
                          f"at, like https://hooks.example.com, got {raw!r}")
    return value


def _mail_from(raw: str) -> str:
    value = raw.strip()
    if value.count("@") != 1 or any(c.isspace() or c in "<>," for c in value):
        raise ConfigError(f"WEBHOOKS_MAIL_FROM must be one email address, got {raw!r}")
    return value


def _duration_days(raw: str) -> float:
    return _number("WEBHOOKS_RETENTION_DAYS", raw, 0)


@dataclass(frozen=True)
class DeliverySettings:
    """The knobs of the delivery core, independent of Flask."""

    timeout: float = 10.0
    retry_delays: tuple[float, ...] = (10.0, 20.0)
    max_consecutive_failures: int = 10
    lease: float = 30.0
    concurrency: int = 256  # measured: see SEND_CONCURRENCY
    max_response_bytes: int = 64 * 1024
    kept_response_bytes: int = 4 * 1024
    user_agent: str = "webhooks/0"
    mail_enabled: bool = False  # WEBHOOKS_SMTP_URL is set: notices go out by mail too

    @property
    def max_in_flight(self) -> int:
        """Attempts in flight at most: `concurrency`, plus as many stalled ones (see the
        dispatcher), so a hanging receiver does not slow the others."""
        return 2 * self.concurrency

    @property
    def max_attempts(self) -> int:
        """Attempts in one cycle: the original plus one per retry delay."""
        return 1 + len(self.retry_delays)


# name -> (default, parser)
_ENV = {
    "SCHEDULER_ENABLED": ("1", lambda v: _flag(v)),
    "WEBHOOKS_POLL_SECONDS": ("2", lambda v: _number("WEBHOOKS_POLL_SECONDS", v, 0.01)),
    "WEBHOOKS_TIMEOUT_SECONDS": ("10", lambda v: _number("WEBHOOKS_TIMEOUT_SECONDS", v, 0.01)),
    "WEBHOOKS_RETRY_DELAYS": ("10,20", _delays),
    "WEBHOOKS_MAX_CONSECUTIVE_FAILURES": (
        "10", lambda v: int(_number("WEBHOOKS_MAX_CONSECUTIVE_FAILURES", v, 1))),
    "WEBHOOKS_ALLOWED_HOSTS": ("external", str),
    "WEBHOOKS_RETENTION_DAYS": ("30", _duration_days),
    "WEBHOOKS_MAX_EVENT_BYTES": (
        "262144", lambda v: int(_number("WEBHOOKS_MAX_EVENT_BYTES", v, 1))),
    "WEBHOOKS_METRICS_TOKEN": ("", str.strip),
    "WEBHOOKS_LOG_FORMAT": (LOG_FORMATS[0], _one_of("WEBHOOKS_LOG_FORMAT", LOG_FORMATS)),
    "WEBHOOKS_SEND_CONCURRENCY": (
        str(SEND_CONCURRENCY), lambda v: int(_number("WEBHOOKS_SEND_CONCURRENCY", v, 1))),
    "WEBHOOKS_LEASE_SECONDS": ("30", lambda v: _number("WEBHOOKS_LEASE_SECONDS", v, 1)),
    "WEBHOOKS_SESSION_HOURS": ("168", lambda v: _number("WEBHOOKS_SESSION_HOURS", v, 0.01)),
    "SECRET_KEY_FALLBACKS": ("", lambda v: [k.strip() for k in v.split(",") if k.strip()]),
    "WEBHOOKS_CA_BUNDLE": ("", lambda v: _ca_bundle(v.strip())),
    "WEBHOOKS_TRUSTED_PROXIES": (
        "0", lambda v: int(_number("WEBHOOKS_TRUSTED_PROXIES", v, 0))),
    "WEBHOOKS_SMTP_URL": ("", _smtp_url),
    "WEBHOOKS_MAIL_FROM": ("webhooks@localhost", _mail_from),
    "WEBHOOKS_BASE_URL": ("http://127.0.0.1:5000", _base_url),
}


def from_environment(environ: dict[str, str], instance_path: str) -> dict:
    """Build the Flask config mapping from environment variables."""
    config = {name: parse(environ.get(name, default)) for name, (default, parse) in _ENV.items()}
    config["SQLALCHEMY_DATABASE_URI"] = database_url(environ.get("DATABASE_URL"), instance_path)
    config["SECRET_KEY"] = environ.get("SECRET_KEY")
    # Behind HTTPS, set SESSION_COOKIE_SECURE=1 so the session cookie never travels in clear.
    config["SESSION_COOKIE_SECURE"] = _flag(environ.get("SESSION_COOKIE_SECURE", "0"))
    return config


def instance_secret_key(instance_path: str) -> str:
    """A random key kept in instance/secret_key, so a local trial needs no set-up."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    partial = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    try:  # whole or not at all; when processes start together, the first one's key wins
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return path.read_text().strip()


def delivery_settings(config) -> DeliverySettings:
    """The delivery core's settings from a Flask config mapping."""
    timeout = config["WEBHOOKS_TIMEOUT_SECONDS"]
    # A lease shorter than a send would let a second process repeat a live attempt.
    lease = max(config["WEBHOOKS_LEASE_SECONDS"], timeout + 5)
    return DeliverySettings(
        timeout=timeout,
        retry_delays=config["WEBHOOKS_RETRY_DELAYS"],
        max_consecutive_failures=config["WEBHOOKS_MAX_CONSECUTIVE_FAILURES"],
        lease=lease,
        concurrency=config["WEBHOOKS_SEND_CONCURRENCY"],
        user_agent=f"webhooks/{__version__}",
        mail_enabled=config.get("WEBHOOKS_SMTP_URL") is not None,
    )
