"""Mail out (SPEC §8, §9): `WEBHOOKS_SMTP_URL` parsed once, and one SMTP sender behind a seam.

Sending mail is slow and may hang, so only the scheduler's notice job and an admin's explicit
"mail test" ever wait on it; no delivery and no other web request does.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
MAIL_TIMEOUT = 10.0  # seconds for connecting and for each SMTP exchange


class MailError(Exception):
    """The mail server could not be reached, or refused the message; the text says which."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over; the password never shows in a repr."""

    host: str
    port: int
    security: str  # plain, starttls or tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def display(self) -> str:
        """The URL with the password hidden, for `flask doctor` and logs."""
        scheme = next(s for s, (security, _) in SCHEMES.items() if security == self.security)
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(raw: str) -> SmtpSettings | None:
    """`smtp://user:pass@host:port`, `smtp+starttls://…` or `smtps://…`; None when empty.

    Raises ValueError with a message for anything else."""
    raw = raw.strip()
    if not raw:
        return None
    expected = "smtp://user:pass@host:port, smtp+starttls://… or smtps://…"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"must look like {expected}: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"must start with smtp://, smtp+starttls:// or smtps:// "
                         f"(like {expected}), got {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise ValueError(f"names no mail server host (like {expected})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be only scheme, user, password, host and port (like {expected})")
    security, default_port = SCHEMES[parts.scheme]
    return SmtpSettings(parts.hostname, port or default_port, security,
                        unquote(parts.username) if parts.username else None,
                        unquote(parts.password) if parts.password is not None else None)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...
    def check(self) -> str: ...


class SmtpMailer:
    """Hands each message to the SMTP server in its own short connection."""

    def __init__(self, settings: SmtpSettings, timeout: float = MAIL_TIMEOUT,
                 ca_bundle: str | None = None):
        self.settings, self.timeout = settings, timeout
        self.tls = ssl.create_default_context()
        if ca_bundle:
            self.tls.load_verify_locations(cafile=ca_bundle)

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises MailError saying what went wrong."""
        self._session(lambda smtp: smtp.send_message(message))

    def check(self) -> str:
        """Connect, greet and sign in without sending anything; what worked."""
        self._session(lambda smtp: smtp.noop())
        signed_in = " and accepted the sign-in" if self.settings.username else ""
        return f"{self.settings.display()} answered{signed_in}"

    def _session(self, action):
        s = self.settings
        try:
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self.tls)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=self.tls)
                if s.username:
                    smtp.login(s.username, s.password or "")
                return action(smtp)
        except smtplib.SMTPResponseException as exc:
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise MailError(f"the mail server refused: {exc.smtp_code} {detail}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"the mail server refused the recipients: "
                            f"{', '.join(exc.recipients)}") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            if not isinstance(exc, TimeoutError) and "timed out" not in str(exc):
                raise MailError(f"the mail server at {s.host}:{s.port} hung up: {exc}") from None
            raise MailError(f"the mail server at {s.host}:{s.port} did not answer within "
                            f"{self.timeout:g} s") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not reach the mail server at {s.host}:{s.port}: "
                            f"{exc}") from None
