"""Time as the service sees it: naive UTC datetimes, and the wire format of SPEC §2."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (how every column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# ASCII: without it `\d` also matches other scripts' digits, which strptime then accepts.
WIRE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", re.ASCII)


def parse_iso(text) -> datetime:
    """A time in the wire format (`2026-03-22T12:00:00.000Z`); ValueError for anything else."""
    if not isinstance(text, str) or not WIRE_RE.match(text):
        raise ValueError("not a UTC ISO-8601 time with milliseconds")
    return datetime.strptime(text, WIRE_FORMAT)


def iso(moment: datetime | None) -> str | None:
    """Format as `2026-03-22T12:00:00.000Z`; None stays None."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
