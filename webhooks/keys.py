"""Rotating SECRET_KEY (SPEC §6): which key each stored webhook secret is encrypted under,
and re-encrypting them all under the current one. No Flask here.

The steps: set the new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS (everything still
reads), run `flask secrets rotate`, check `flask doctor`, then drop the old key.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .crypto import SecretBox, StoredKey
from .models import Webhook

BATCH = 500


def stored_keys(session: Session, box: SecretBox) -> Counter[StoredKey]:
    """How many stored secrets are under each key."""
    return Counter(box.key_of(secret) for secret in
                   session.scalars(select(Webhook.secret_encrypted).execution_options(
                       yield_per=BATCH)))


def rotate_stored(session: Session, box: SecretBox) -> Counter[StoredKey]:
    """Re-encrypt every secret that is not under the current key; commit in batches.

    Returns the count by the key each secret was under before. A secret changed meanwhile
    (a webhook's secret rotated) is left as it now is: the write is guarded by the old value.
    """
    found: Counter[StoredKey] = Counter()
    last = 0
    while True:
        rows = session.execute(select(Webhook.id, Webhook.secret_encrypted)
                               .where(Webhook.id > last).order_by(Webhook.id)
                               .limit(BATCH)).all()
        for webhook_id, secret in rows:
            kind = box.key_of(secret)
            found[kind] += 1
            if kind is StoredKey.FALLBACK:
                session.execute(update(Webhook).where(
                    Webhook.id == webhook_id, Webhook.secret_encrypted == secret)
                    .values(secret_encrypted=box.rotate(secret)))
        session.commit()
        if len(rows) < BATCH:
            return found
        last = rows[-1][0]
