"""The rollups of deliveries (`delivery_hours`, `delivery_days`), kept in step as outcomes are
recorded.

Per webhook and UTC hour, and per day (its hours added up): the deliveries that became final
in it, successes and failures (by completion time, once each time a delivery becomes final: a
delivery retried or resent counts again), and a histogram of the durations of the attempts
made in it (by the time each attempt began; `webhooks.latency`). Test and example sends are
left out, as the consecutive-failure counter leaves them out; an attempt never made (webhook
off, secret unreadable) counts as its delivery's failure but has no duration.

Several processes add to the same rows: INSERT … ON CONFLICT DO UPDATE that adds, hours then
days, rows in key order. It runs after the deliveries' rows are locked, so rollup rows are
always locked last (webhooks, deliveries, then rollups: the order deletes use too). No Flask.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from functools import cache

from sqlalchemy import DateTime, delete
from sqlalchemy.orm import Session

from ..latency import COLUMNS, bucket_of
from ..models import DeliveryStatus, delivery_days, delivery_hours

_FIGURES = ("succeeded", "failed", *COLUMNS)
_TABLES = (("delivery_hours", "hour"), ("delivery_days", "day"))  # written in this order


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour a moment falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def roll_up(session: Session, plans: list, now: datetime) -> None:
    """Add recorded attempts, and the deliveries they made final at `now`, to the rollups.

    `plans` are the recorder's (Finished, Plan) pairs, as written in this transaction."""
    hours = _by_hour(plans, now)
    if not hours:
        return
    days: dict[tuple[int, datetime], Counter] = defaultdict(Counter)
    for (webhook_id, hour), counts in hours.items():
        days[webhook_id, hour.replace(hour=0)].update(counts)
    # On the recorder's hot path: positional rows straight to the driver's executemany
    # (SQLAlchemy's handling of 69 parameters a row cost more than the statement itself; one
    # statement of many VALUES was slower still on PostgreSQL).
    connection = session.connection()
    dialect = connection.dialect
    # a time as the dialect stores DateTime columns (text on SQLite), as every query compares it
    stamp = dialect.type_descriptor(DateTime()).bind_processor(dialect) or (lambda moment: moment)
    for (table, period), rows in zip(_TABLES, (hours, days)):
        connection.exec_driver_sql(_upsert(table, period, dialect.paramstyle), [
            (webhook_id, stamp(start), *(counts[c] for c in _FIGURES))
            for (webhook_id, start), counts in sorted(rows.items())])


def _by_hour(plans: list, now: datetime) -> dict[tuple[int, datetime], Counter]:
    """What the plans add to each (webhook, hour)."""
    rows: dict[tuple[int, datetime], Counter] = defaultdict(Counter)
    done = hour_of(now)
    for finished, (status, _) in plans:
        claimed = finished.claimed
        if claimed.one_off:  # test and example sends are not counted
            continue
        if finished.not_sent is None:
            bucket = COLUMNS[bucket_of(finished.outcome.duration_ms)]
            rows[claimed.webhook_id, hour_of(finished.attempted_at)][bucket] += 1
        if status != DeliveryStatus.PENDING:
            figure = "succeeded" if status == DeliveryStatus.SUCCESS else "failed"
            rows[claimed.webhook_id, done][figure] += 1
    return rows


@cache
def _upsert(table: str, period: str, paramstyle: str) -> str:
    """Add a row's figures to the stored ones (several processes may add at once)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    return (f"INSERT INTO {table} (webhook_id, {period}, {', '.join(_FIGURES)}) "
            f"VALUES ({', '.join([mark] * (len(_FIGURES) + 2))}) "
            f"ON CONFLICT (webhook_id, {period}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _FIGURES))


def forget(session: Session, webhook_ids: list[int]) -> None:
    """Delete the rollups of these webhooks (after the webhooks themselves: see above)."""
    if webhook_ids:
        for table in (delivery_hours, delivery_days):
            session.execute(delete(table).where(table.c.webhook_id.in_(webhook_ids)))
