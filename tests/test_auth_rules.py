"""Account rules that the UI and CLI share."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webhooks.auth import create_user
from webhooks.exceptions import Invalid
from webhooks.extensions import db
from webhooks.models import User


def test_a_duplicate_email_that_slips_past_the_check_is_still_refused(app, clock, monkeypatch):
    create_user(db.session, "a@example.com", "long-password", False, clock())
    db.session.commit()
    real = db.session.scalar
    monkeypatch.setattr(db.session, "scalar", lambda *args, **kwargs: None)  # the race
    with pytest.raises(Invalid, match="already exists"):
        create_user(db.session, "A@example.com", "long-password", False, clock())
    monkeypatch.setattr(db.session, "scalar", real)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
