"""The sending seam: prepared requests in, outcomes out.

Claiming, signing and recording never see the HTTP client. `RequestsSender` is the
thread-pool implementation on `requests`; every rule of SPEC §4 that concerns the wire lives
here: a total-time limit, no redirects, a capped read, and the allowed-hosts check on the
address that is actually connected to.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

from .hosts import HostNotAllowed, HostPolicy, allowed_addresses
from .watchdog import Watchdog


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
        return self.http_code is not None and 200 <= self.http_code < 300


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
        where = f" to {location}" if location else ""
        return f"HTTP {code}: redirect{where} not followed"
    return f"HTTP {code}"


@dataclass
class _Attempt:
    """The attempt running on this thread, for the connection hooks and the watchdog."""

    deadline: float
    refusal: str | None = None
    timed_out: bool = False
    released: bool = False


_current = threading.local()


def _guarded(base, policy: HostPolicy, watchdog: Watchdog):
    """A urllib3 connection class that connects only to addresses the policy allows."""

    class Guarded(base):
        def _new_conn(self):
            attempt: _Attempt | None = getattr(_current, "attempt", None)
            try:
                addresses = allowed_addresses(policy, self._dns_host, self.port)
            except HostNotAllowed as exc:
                if attempt is not None:
                    attempt.refusal = str(exc)
                raise NewConnectionError(self, str(exc)) from exc
            except OSError as exc:
                if attempt is not None:
                    attempt.refusal = f"could not resolve host {self._dns_host}: {exc}"
                raise NewConnectionError(self, f"could not resolve {self._dns_host}") from exc
            error: OSError | None = None
            for address in addresses:
                try:
                    sock = urllib3_connection.create_connection(
                        (str(address), self.port), self.timeout,
                        source_address=self.source_address, socket_options=self.socket_options)
                except OSError as exc:
                    error = exc
                    continue
                if attempt is not None:
                    watchdog.watch(sock, attempt)
                return sock
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}")

        def request(self, *args, **kwargs):
            attempt = getattr(_current, "attempt", None)
            if self.sock is not None and attempt is not None:
                watchdog.watch(self.sock, attempt)
            return super().request(*args, **kwargs)

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: HostPolicy, watchdog: Watchdog, pool_size: int):
        self._classes = {}
        for scheme, pool, conn in (("http", HTTPConnectionPool, HTTPConnection),
                                   ("https", HTTPSConnectionPool, HTTPSConnection)):
            self._classes[scheme] = type(f"Guarded{pool.__name__}", (pool,),
                                         {"ConnectionCls": _guarded(conn, policy, watchdog)})
        super().__init__(pool_connections=64, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._classes


class RequestsSender:
    """Sends with `requests` from a thread pool; one keep-alive session per thread."""

    def __init__(self, policy: HostPolicy, concurrency: int = 32,
                 max_response_bytes: int = 64 * 1024, kept_response_bytes: int = 4 * 1024):
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self.kept_response_bytes = kept_response_bytes
        self._concurrency = concurrency
        self._watchdog = Watchdog()
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def submit(self, request: OutgoingRequest) -> Future:
        """Send on the pool; the future's result is the Outcome."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="send")
            return self._pool.submit(self.send, request)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self._watchdog.stop()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # a proxy from the environment would bypass the host check
            adapter = _GuardedAdapter(self.policy, self._watchdog, pool_size=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def send(self, request: OutgoingRequest) -> Outcome:
        """Make one attempt; never raises, never outlives `request.timeout` by much."""
        started = time.monotonic()
        attempt = _Attempt(deadline=started + request.timeout)
        _current.attempt = attempt
        try:
            code, body, error, location = self._post(request, attempt)
        finally:
            _current.attempt = None
            self._watchdog.release(attempt)
        duration_ms = int((time.monotonic() - started) * 1000)
        if attempt.timed_out and (code is None or error is not None):
            code, error = None, f"timed out after {request.timeout:g} s"
        return Outcome(request.key, code, duration_ms, judge(code, error, location), body)

    def _post(self, request: OutgoingRequest, attempt: _Attempt):
        try:
            response = self._session().post(
                request.url, data=request.body, headers=request.headers,
                timeout=request.timeout, allow_redirects=False, stream=True)
        except requests.exceptions.Timeout:
            return None, None, f"timed out after {request.timeout:g} s", None
        except requests.exceptions.SSLError as exc:
            return None, None, f"TLS error: {_reason(exc)}", None
        except requests.exceptions.ConnectionError as exc:
            return None, None, attempt.refusal or f"connection failed: {_reason(exc)}", None
        except requests.exceptions.RequestException as exc:
            return None, None, f"request failed: {_reason(exc)}", None
        with response:
            body, read_error = self._read(response)
        return response.status_code, body, read_error, response.headers.get("Location")

    def _read(self, response: requests.Response) -> tuple[str | None, str | None]:
        """Read at most max_response_bytes; keep kept_response_bytes as text."""
        try:
            data = response.raw.read(self.max_response_bytes, decode_content=False)
        except Exception as exc:  # a broken or slow body does not change a received status
            return None, None if 200 <= response.status_code < 300 else f"reading the answer: {exc}"
        kept = data[: self.kept_response_bytes]
        return kept.decode("utf-8", errors="replace"), None


def _reason(exc: Exception) -> str:
    """The innermost useful message of a requests/urllib3 exception."""
    reason = exc
    while True:
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args and isinstance(reason.args[0], Exception) else None)
        if inner is None or inner is reason:
            break
        reason = inner
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if "Connection reset" in text or "RemoteDisconnected" in text or "Connection aborted" in text:
        return "connection closed by the receiver without an answer"
    return text
