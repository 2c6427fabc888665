"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the notice tests."""
from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .processes import free_port


class MailServer:
    """Accepts mail (or, with `refuse` set, answers 451 to every message) and keeps it."""

    def __init__(self, login: tuple[str, str] | None = None):
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self._cond = threading.Condition()
        self.port = free_port()
        options = {}
        if login is not None:
            options = {"authenticator": self._authenticate(login), "auth_require_tls": False,
                       "auth_exclude_mechanism": ["LOGIN"],
                       "auth_required": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
                self._cond.wait(left)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def close(self) -> None:
        if self.controller._thread is not None:
            self.controller.stop()

    @staticmethod
    def _authenticate(login: tuple[str, str]):
        def check(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and (auth_data.login.decode(), auth_data.password.decode()) == login)
            return AuthResult(success=ok, handled=False)
        return check
