"""The X-Webhook-Signature header (SPEC §4)."""
from __future__ import annotations

import base64
import hashlib
import hmac


def sign(body: bytes, secret: str) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant time)."""
    return hmac.compare_digest(sign(body, secret), header or "")


def standard_signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The Standard Webhooks `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of
    `id.timestamp.body`, keyed with the secret's bytes (the base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
