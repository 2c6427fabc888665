"""Delivery counters for /metrics, kept in the database (table `metric_counters`).

Every process adds what it recorded in the same transaction as the outcomes themselves, so
the figures are exact across several processes, survive restarts, and never count an
outcome whose write was rolled back. One row per series; histogram buckets are stored
per bucket (not cumulative) and summed up when exposed. No Flask here.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..models import MetricCounter

# attempt outcomes: success; retry = failed, tried again later; failed = failed for good;
# skipped = a due delivery of a webhook that is off (no request made)
OUTCOMES = ("success", "retry", "failed", "skipped")
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

ATTEMPTS = "attempts:"            # + outcome
DURATION_BUCKET = "duration_le:"  # + bucket bound, or "+Inf"
DURATION_SUM = "duration_sum"
DURATION_COUNT = "duration_count"
DEACTIVATED = "webhooks_deactivated"

_UPSERT = text(
    "INSERT INTO metric_counters (name, value) VALUES (:name, :value) "
    "ON CONFLICT (name) DO UPDATE SET value = metric_counters.value + excluded.value")


def bucket_of(seconds: float) -> str:
    """The name of the (non-cumulative) bucket an attempt's duration falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return f"{DURATION_BUCKET}{bound:g}"
    return f"{DURATION_BUCKET}+Inf"


class Tally:
    """What one transaction recorded, to be added to the stored counters before it commits."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.outcomes: dict[int, str] = {}  # delivery id -> outcome, for the log lines

    def attempt(self, outcome: str, duration_ms: int | None, delivery_id: int) -> None:
        self.outcomes[delivery_id] = outcome
        self.counts[ATTEMPTS + outcome] += 1
        if outcome != "skipped" and duration_ms is not None:
            seconds = duration_ms / 1000
            self.counts[bucket_of(seconds)] += 1
            self.counts[DURATION_SUM] += seconds
            self.counts[DURATION_COUNT] += 1

    def deactivated(self, count: int) -> None:
        if count:
            self.counts[DEACTIVATED] += count

    def flush(self, session: Session) -> None:
        """Add the tally to the stored counters (in name order, so writers never deadlock)."""
        if self.counts:
            session.execute(_UPSERT, [{"name": name, "value": self.counts[name]}
                                      for name in sorted(self.counts)])
            self.counts.clear()


def stored(session: Session) -> dict[str, float]:
    """Every stored counter by name."""
    return {name: value for name, value in session.execute(
        select(MetricCounter.name, MetricCounter.value))}


def cumulative_buckets(counters: dict[str, float]) -> Iterable[tuple[str, float]]:
    """(le, cumulative count) for each bound and +Inf, as Prometheus histograms want."""
    total = 0.0
    for bound in [f"{b:g}" for b in DURATION_BUCKETS] + ["+Inf"]:
        total += counters.get(DURATION_BUCKET + bound, 0)
        yield bound, total
