"""Failed sign-in limiting: a sliding window of failures per key, in this process's memory.

Each process keeps its own counts (several gunicorn workers each allow the limit); that
bounds password guessing to a few dozen tries per window per process, which is what it is for.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """Refuses a key after `limit` failures within `window` seconds, until the oldest expires."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None if it may now."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.limit:
                return None
            return max(0.0, failures[0] + self.window - self.clock())

    def failed(self, key: str) -> None:
        with self._lock:
            if len(self._failures) >= self.max_keys and key not in self._failures:
                self._failures.clear()  # a flood of distinct keys: start over, stay bounded
            self._recent(key).append(self.clock())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> deque:
        failures = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures
