"""The sending seam (STYLE: one implementation behind a seam, the seam in its own module).

Claiming, signing and recording hand the sender `OutgoingRequest`s and get `Outcome`s back;
they never see the HTTP client (`sender.AsyncioSender`, aiohttp). The words of every error an
attempt can end with live here too, so they read the same wherever an attempt fails.
"""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from .hosts import HostNotAllowed, HostPolicy, IPAddress, allowed_addresses


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One attempt, ready to go: the exact body bytes and every header."""

    key: Any
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened: the HTTP code if any answer came, and a clear error text if it failed."""

    key: Any
    http_code: int | None
    duration_ms: int
    error: str | None = None
    response_body: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer, complete within the time limit."""
        return self.error is None and self.http_code is not None and 200 <= self.http_code < 300


class Sender(Protocol):
    def send(self, request: OutgoingRequest) -> Outcome: ...
    def submit(self, request: OutgoingRequest) -> Future: ...
    def close(self) -> None: ...


def judge(code: int | None, error: str | None, location: str | None = None) -> str | None:
    """The error text for an answer: None for 2xx; 3xx and others explained."""
    if error is not None or code is None:
        return error
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        where = f" to {location[:500]}" if location else ""
        return f"HTTP {code}: redirect{where} not followed"
    return f"HTTP {code}"


def judge_answer(code: int, location: str | None, read_error: str | None) -> str | None:
    """The error text for an answer whose body may not have been read in full or in time."""
    error = judge(code, None, location)
    if read_error is not None:
        # An answer is its status, headers and (up to the read cap) body, all in time.
        error = f"{error or f'HTTP {code}'} (reading the answer: {read_error})"
    return error


def timed_out(timeout: float) -> str:
    """The error text of an attempt cut at its deadline."""
    return f"timed out after {timeout:g} s"


def kept_text(data: bytes, kept_bytes: int) -> str:
    """The part of an answer's body kept in the attempt log, as text."""
    return data[:kept_bytes].decode("utf-8", errors="replace")


class Refusal(OSError):
    """No connection was tried: the host is not allowed, or does not resolve (in time).

    The message is the attempt's error text.
    """


def connectable(policy: HostPolicy, host: str, port: int,
                timeout: float | None = None) -> list[IPAddress]:
    """The addresses of `host` the policy allows connecting to; raises Refusal otherwise."""
    try:
        return allowed_addresses(policy, host, port, timeout)
    except HostNotAllowed as exc:
        raise Refusal(str(exc)) from exc
    except OSError as exc:
        raise Refusal(f"could not resolve host {host}: {exc}") from exc
