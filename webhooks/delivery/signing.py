"""The X-Webhook-Signature header (SPEC §4)."""
from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant time)."""
    return hmac.compare_digest(sign(body, secret), header or "")
