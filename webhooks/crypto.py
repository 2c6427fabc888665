"""Secrets at rest: webhook secrets encrypted, API tokens hashed."""
from __future__ import annotations

import base64
import enum
import hashlib
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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


UNREADABLE_SECRET = ("webhook secret cannot be decrypted: was SECRET_KEY changed? (put the old "
                     "key in SECRET_KEY_FALLBACKS)")


class SecretUnreadable(ValueError):
    """No key of this process decrypts a stored secret (SECRET_KEY changed, no fallback)."""

    def __init__(self):
        super().__init__(UNREADABLE_SECRET)


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"webhooks/webhook-secret-encryption").derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Encrypts webhook secrets with a key derived from SECRET_KEY (Fernet: AES + HMAC).

    Encrypts under SECRET_KEY; decrypts under it or any of SECRET_KEY_FALLBACKS, so that a key
    can be rotated without stranding the stored secrets (`flask secrets rotate`).
    """

    def __init__(self, secret_key: str, fallbacks: Sequence[str] = ()):
        self._current = _fernet(secret_key)
        self._fernet = MultiFernet([self._current, *(_fernet(k) for k in fallbacks)])
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
                raise SecretUnreadable() from None
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[ciphertext] = plain
        return plain

    def key_of(self, ciphertext: str) -> StoredKey:
        """Which key a stored secret is encrypted under."""
        try:
            self._current.decrypt(ciphertext.encode("ascii"))
            return StoredKey.CURRENT
        except InvalidToken:
            pass
        try:
            self.decrypt(ciphertext)
            return StoredKey.FALLBACK
        except SecretUnreadable:
            return StoredKey.UNREADABLE

    def rotate(self, ciphertext: str) -> str:
        """The same secret encrypted under the current key; ValueError if no key reads it."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretUnreadable() from None


class StoredKey(enum.Enum):
    """Under which key a stored secret is encrypted."""

    CURRENT = "SECRET_KEY"
    FALLBACK = "a key in SECRET_KEY_FALLBACKS"
    UNREADABLE = "no key this process has"
