"""The attempt-latency histogram of the hourly rollups (`delivery_hours`), and percentiles
read from it. No Flask, no database.

Durations are whole milliseconds. Below 16 ms each millisecond is a bucket of its own (exact);
from 16 ms to 65,536 ms there are 4 buckets per doubling, the real edges `16 · 2^(j/4)`
(stored as the whole milliseconds they hold: `ceil` of each edge); one open bucket holds
65,536 ms and more. A percentile is the nearest-rank one, reported as the geometric middle of
the bucket that holds it, so it is within 2^(1/8) - 1 ≈ 9.1% of the exact value (exact below
16 ms; the open bucket reports its lower edge).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

EXACT_BELOW = 16
STEPS_PER_DOUBLING = 4
TOP = 65_536
_LOG_STEPS = STEPS_PER_DOUBLING * int(math.log2(TOP // EXACT_BELOW))  # 48

# The smallest whole millisecond of each bucket, in order.
EDGES: tuple[int, ...] = (
    *range(EXACT_BELOW),
    *(math.ceil(EXACT_BELOW * 2 ** (j / STEPS_PER_DOUBLING)) for j in range(_LOG_STEPS)),
    TOP,
)
# The rollup's column for each bucket, named for the bucket's smallest millisecond.
COLUMNS: tuple[str, ...] = tuple(f"ms_{edge}" for edge in EDGES)
ERROR_BOUND = 2 ** (1 / (2 * STEPS_PER_DOUBLING)) - 1


def bucket_of(duration_ms: int) -> int:
    """The index of the bucket that holds a duration (negative ones count as 0 ms)."""
    return max(bisect_right(EDGES, duration_ms) - 1, 0)


def middle(bucket: int) -> float:
    """The value reported for a percentile that falls in this bucket."""
    if bucket < EXACT_BELOW:
        return float(bucket)
    if bucket == len(EDGES) - 1:
        return float(TOP)
    j = bucket - EXACT_BELOW
    return EXACT_BELOW * 2 ** ((j + 0.5) / STEPS_PER_DOUBLING)


def percentile(counts: Sequence[int], p: int) -> float | None:
    """The nearest-rank `p`th percentile of the histogram `counts` (one per bucket), as the
    middle of its bucket; None when it holds nothing."""
    running = list(accumulate(counts))
    if not running or not running[-1]:
        return None
    rank = max(-(-p * running[-1] // 100), 1)  # ceil(p/100 · n), and at least 1
    return middle(bisect_left(running, rank))
