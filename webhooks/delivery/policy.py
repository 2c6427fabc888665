"""The retry schedule and the auto-deactivation rule, as pure functions."""
from __future__ import annotations

from datetime import datetime, timedelta


def next_attempt(cycle_attempts: int, delays: tuple[float, ...], finished_at: datetime,
                 retryable: bool = True) -> datetime | None:
    """When to try again after the `cycle_attempts`-th attempt of a cycle failed; None if final.

    `delays[i]` is the wait after the (i+1)-th failed attempt, counted from its end.
    """
    if not retryable or cycle_attempts > len(delays):
        return None
    return finished_at + timedelta(seconds=delays[cycle_attempts - 1])


def apply_outcomes(failures: int, outcomes: list[bool], threshold: int) -> tuple[int, bool]:
    """Fold final outcomes (True = success), in order of completion, into the counter.

    Returns the new consecutive-failure count and whether it reached the threshold on the way.
    """
    reached = False
    for success in outcomes:
        failures = 0 if success else failures + 1
        reached = reached or (not success and failures >= threshold)
    return failures, reached
