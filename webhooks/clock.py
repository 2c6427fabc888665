"""Time as the service sees it: naive UTC datetimes, and the wire format of SPEC §2."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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


AGE_RE = re.compile(r"\s*(\d{1,9})\s*([dhms])\s*", re.ASCII)
AGE_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_age(text) -> timedelta:
    """`30d`, `12h`, `45m` or `90s` as a timedelta; ValueError for anything else."""
    match = AGE_RE.fullmatch(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError("not a positive duration such as 30d, 12h or 45m")
    try:
        return timedelta(**{AGE_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise ValueError("too long a duration") from None


def parse_utc(text) -> datetime:
    """A date and time as people type it (`2026-03-22T12:00` from a datetime-local input,
    with seconds, or the wire format), read as UTC; an explicit offset is converted to UTC.
    ValueError for anything else."""
    if not isinstance(text, str) or not text.strip().isascii():
        raise ValueError("not a date and time")
    moment = datetime.fromisoformat(text.strip())  # ValueError for anything else
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+01:00
            raise ValueError("out of range") from None
    return moment


def parse_since(text, now: datetime) -> datetime:
    """The start of a window: an age before `now` (`24h`, `7d`) or a UTC date and time
    (`2026-03-22T12:00`). ValueError for anything else."""
    try:
        age = parse_age(text)
    except ValueError:
        return parse_utc(text)
    try:
        return now - age
    except OverflowError:
        raise ValueError("too long a duration") from None
