"""Enforces the total time limit of an attempt by shutting its socket down at the deadline.

Socket timeouts bound each read, not the whole exchange: a receiver that trickles one byte
a second would hold a sender thread for ever. One daemon thread watches every socket in use.
"""
from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time


class Watchdog:
    """Shuts down sockets whose attempt has passed its deadline and is still running."""

    def __init__(self):
        self._heap: list = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def watch(self, sock: socket.socket, attempt) -> None:
        """Watch `sock` until `attempt` is released or its deadline passes."""
        with self._cond:
            if self._thread is None:
                self._stopped = False
                self._thread = threading.Thread(target=self._run, name="send-watchdog",
                                                daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (attempt.deadline, next(self._counter), attempt, sock))
            if self._heap[0][2] is attempt:
                self._cond.notify()

    def release(self, attempt) -> None:
        """The attempt is over; its sockets are no longer watched."""
        attempt.released = True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=1)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, attempt, sock = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                if not getattr(attempt, "released", False):
                    attempt.timed_out = True
                    _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
