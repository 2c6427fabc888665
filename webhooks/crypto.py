"""Secrets at rest: webhook secrets encrypted, API tokens hashed."""
from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_PREFIX = "whk_"
SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A fresh webhook secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_api_token() -> str:
    """A fresh API token: `whk_` and 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of an API token (tokens carry 256 bits, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


UNREADABLE_SECRET = "webhook secret cannot be decrypted: was SECRET_KEY changed?"


class SecretBox:
    """Encrypts webhook secrets with a key derived from SECRET_KEY (Fernet: AES + HMAC)."""

    def __init__(self, secret_key: str):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"webhooks/webhook-secret-encryption").derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._cache: dict[str, str] = {}

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt, remembering recent answers: the hot path decrypts the same few secrets."""
        plain = self._cache.get(ciphertext)
        if plain is None:
            try:
                plain = self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
            except InvalidToken:
                raise ValueError(UNREADABLE_SECRET) from None
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[ciphertext] = plain
        return plain
