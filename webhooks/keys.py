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
from .models import Project, Webhook

BATCH = 500
# Every stored secret: webhooks' signing secrets and projects' operational-webhook secrets.
SECRET_COLUMNS = ((Webhook.id, Webhook.secret_encrypted),
                  (Project.id, Project.notify_secret_encrypted))


def stored_keys(session: Session, box: SecretBox) -> Counter[StoredKey]:
    """How many stored secrets are under each key."""
    return Counter(box.key_of(secret) for _, column in SECRET_COLUMNS
                   for secret in session.scalars(select(column).where(column.is_not(None))
                                                 .execution_options(yield_per=BATCH)))


def rotate_stored(session: Session, box: SecretBox) -> Counter[StoredKey]:
    """Re-encrypt every secret that is not under the current key; commit in batches.

    Returns the count by the key each secret was under before. A secret changed meanwhile
    (a webhook's secret rotated) is left as it now is: the write is guarded by the old value.
    """
    found: Counter[StoredKey] = Counter()
    for key, column in SECRET_COLUMNS:
        found.update(_rotate_column(session, box, key, column))
    return found


def _rotate_column(session: Session, box: SecretBox, key, column) -> Counter[StoredKey]:
    found: Counter[StoredKey] = Counter()
    table, last = column.class_, None
    while True:
        query = select(key, column).where(column.is_not(None)).order_by(key).limit(BATCH)
        rows = session.execute(query if last is None else query.where(key > last)).all()
        for row_id, secret in rows:
            kind = box.key_of(secret)
            found[kind] += 1
            if kind is StoredKey.FALLBACK:
                session.execute(update(table).where(key == row_id, column == secret)
                                .values({column.key: box.rotate(secret)}))
        session.commit()
        if len(rows) < BATCH:
            return found
        last = rows[-1][0]
