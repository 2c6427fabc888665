"""Enforces the total time limit of an attempt by shutting its socket down at the deadline.

Socket timeouts bound each read, not the whole exchange: a receiver that trickles one byte
a second would hold a sender thread for ever. One daemon thread watches every socket in use.

The watchdog keeps its own duplicate of each watched socket's file descriptor: a TLS wrap
detaches the plain socket object (whose `shutdown` then does nothing), and an `SSLSocket`
cannot be shut down from another thread without racing its own I/O. `shutdown(2)` on the
duplicate acts on the connection itself, whichever object the client is using. Duplicates are
closed as soon as their attempt is released, so at most one extra descriptor per socket of an
attempt in flight is held.
"""
from __future__ import annotations

import heapq
import itertools
import os
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
        self._generation = 0
        self._handles: dict[int, tuple[object, list[socket.socket]]] = {}

    def watch(self, sock: socket.socket, attempt) -> None:
        """Watch `sock` until `attempt` is released or its deadline passes."""
        handle = _duplicate(sock)
        if handle is None:
            return  # the socket is already closed: nothing left to cut
        with self._cond:
            if getattr(attempt, "released", False):
                handle.close()
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(self._generation,),
                                                name="send-watchdog", daemon=True)
                self._thread.start()
            entry = self._handles.get(id(attempt))
            if entry is None:
                self._handles[id(attempt)] = (attempt, [handle])
                heapq.heappush(self._heap, (attempt.deadline, next(self._counter), attempt))
                if self._heap[0][2] is attempt:
                    self._cond.notify()
            else:
                entry[1].append(handle)

    def release(self, attempt) -> None:
        """The attempt is over; its sockets are no longer watched."""
        with self._cond:
            attempt.released = True
            entry = self._handles.pop(id(attempt), None)
        if entry is not None:
            _close(entry[1])

    def stop(self) -> None:
        """Stop the thread and close every handle; a later watch() starts a new thread."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
            thread, self._thread = self._thread, None
            entries = list(self._handles.values())
            self._handles.clear()
            self._heap.clear()
        for _, handles in entries:
            _close(handles)
        if thread is not None:
            thread.join(timeout=1)

    def _run(self, generation: int) -> None:
        with self._cond:
            while generation == self._generation:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, attempt = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                entry = self._handles.get(id(attempt))
                if entry is None or entry[0] is not attempt or attempt.released:
                    continue
                attempt.timed_out = True
                for handle in entry[1]:
                    _shutdown(handle)


def _duplicate(sock: socket.socket) -> socket.socket | None:
    """A socket object of our own on the same connection, or None if `sock` is closed."""
    try:
        fd = os.dup(sock.fileno())
    except (OSError, ValueError):
        return None
    try:
        return socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        return None


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(handles: list[socket.socket]) -> None:
    for handle in handles:
        try:
            handle.close()
        except OSError:
            pass
