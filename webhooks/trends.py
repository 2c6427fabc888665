"""Delivery trends (issue 13): deliveries per hour for the last 24 hours and per day for the
last 30 days, by outcome, with attempt latency p50/p95, for a webhook or a whole project.

Read from the rollups `delivery_hours` and `delivery_days` (webhooks.delivery.rollup says what
they count), never from the deliveries themselves, so a chart costs the same at a million
deliveries as at ten: 24 + 30 rows per webhook. Buckets are UTC: the 24 h window is the 24
hourly buckets ending with the current hour, the 30 d window the 30 daily buckets ending
today; empty buckets are zeros. Percentiles come from summed histograms (webhooks.latency:
within 9.1% of the exact value). No Flask here: functions take the session and `now`.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .delivery.rollup import hour_of
from .latency import COLUMNS, percentile
from .models import Webhook, delivery_days, delivery_hours

_HOUR, _DAY = timedelta(hours=1), timedelta(days=1)


_SUMS = {table: (func.sum(table.c.succeeded), func.sum(table.c.failed),
                 *(func.sum(table.c[c]) for c in COLUMNS))
         for table in (delivery_hours, delivery_days)}


class Window(enum.Enum):
    """A chart's span: (buckets, bucket length)."""

    HOURS_24 = (24, _HOUR)
    DAYS_30 = (30, _DAY)

    @property
    def buckets(self) -> int:
        return self.value[0]

    @property
    def step(self) -> timedelta:
        return self.value[1]


@dataclass(frozen=True)
class Bucket:
    """The deliveries that became final in [start, end), and the latency of its attempts."""

    start: datetime
    end: datetime
    succeeded: int = 0
    failed: int = 0
    latency: tuple[int, ...] = (0,) * len(COLUMNS)  # attempts per histogram bucket

    @property
    def final(self) -> int:
        return self.succeeded + self.failed

    @cached_property
    def attempts(self) -> int:
        """Attempts whose duration is counted (made, not test sends)."""
        return sum(self.latency)

    @cached_property
    def p50_ms(self) -> float | None:
        return percentile(self.latency, 50)

    @cached_property
    def p95_ms(self) -> float | None:
        return percentile(self.latency, 95)


@dataclass(frozen=True)
class Series:
    window: Window
    buckets: list[Bucket]

    @cached_property
    def total(self) -> Bucket:
        """The whole window as one bucket."""
        return merged(self.buckets[0].start, self.buckets[-1].end, self.buckets)


@dataclass(frozen=True)
class Trends:
    hours: Series  # Window.HOURS_24
    days: Series   # Window.DAYS_30
    now: datetime


def merged(start: datetime, end: datetime, buckets: Iterable[Bucket]) -> Bucket:
    """One bucket adding up others."""
    buckets = list(buckets)
    if not buckets:
        return Bucket(start, end)
    return Bucket(start, end, sum(b.succeeded for b in buckets), sum(b.failed for b in buckets),
                  tuple(map(sum, zip(*(b.latency for b in buckets)))))


def window_start(window: Window, now: datetime) -> datetime:
    """The start of the window's first bucket."""
    last = hour_of(now) if window is Window.HOURS_24 else hour_of(now).replace(hour=0)
    return last - (window.buckets - 1) * window.step


def window_end(window: Window, now: datetime) -> datetime:
    """The end of the window's last bucket (the current hour's, or today's)."""
    return window_start(window, now) + window.buckets * window.step


def empty(window: Window, now: datetime) -> Bucket:
    """The whole window with nothing in it."""
    return Bucket(window_start(window, now), window_end(window, now))


def webhook_trends(session: Session, webhook_id: int, now: datetime) -> Trends:
    """One webhook's trends."""
    return _trends(session, lambda table: table.c.webhook_id == webhook_id, now)


def project_trends(session: Session, project_id: int, now: datetime) -> Trends:
    """The sum of a project's webhooks' trends."""
    return _trends(session, lambda table: table.c.webhook_id.in_(_project_webhooks(project_id)),
                   now)


def last_24_hours_by_webhook(session: Session, project_id: int,
                             now: datetime) -> dict[int, Bucket]:
    """Each of a project's webhooks over the 24 h window (webhooks with nothing are absent)."""
    start, end = window_start(Window.HOURS_24, now), window_end(Window.HOURS_24, now)
    t = delivery_hours.c
    rows = session.execute(select(t.webhook_id, *_SUMS[delivery_hours]).where(
        t.webhook_id.in_(_project_webhooks(project_id)), t.hour >= start, t.hour < end)
        .group_by(t.webhook_id))
    return {row[0]: _bucket(start, end, row[1:]) for row in rows}


def _project_webhooks(project_id: int):
    return select(Webhook.id).where(Webhook.project_id == project_id).scalar_subquery()


# Each window reads its own rollup: 24 hourly rows, 30 daily rows (per webhook).
_TABLES = {Window.HOURS_24: (delivery_hours, "hour"), Window.DAYS_30: (delivery_days, "day")}


def _trends(session: Session, where, now: datetime) -> Trends:
    return Trends(*(_series(session, window, where, now) for window in Window), now)


def _series(session: Session, window: Window, where, now: datetime) -> Series:
    """The window's buckets; empty ones are zeros."""
    table, period = _TABLES[window]
    first, end = window_start(window, now), window_end(window, now)
    column = table.c[period]
    found = {row[0]: row[1:] for row in session.execute(
        select(column, *_SUMS[table]).where(where(table), column >= first, column < end)
        .group_by(column))}
    starts = [first + n * window.step for n in range(window.buckets)]
    return Series(window, [_bucket(start, start + window.step, found.get(start, ()))
                           for start in starts])


def _bucket(start: datetime, end: datetime, sums) -> Bucket:
    """A bucket from a row of sums (succeeded, failed, then the histogram); () is empty."""
    if not sums:
        return Bucket(start, end)
    values = [int(v or 0) for v in sums]
    return Bucket(start, end, values[0], values[1], tuple(values[2:]))
