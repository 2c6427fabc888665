"""The sending seam: prepared requests in, outcomes out.

Claiming, signing and recording never see the HTTP client. `RequestsSender` is the
thread-pool implementation on `requests`; every rule of SPEC §4 that concerns the wire lives
here: a total-time limit, no redirects, a capped read, and the allowed-hosts check on the
address that is actually connected to.
"""
from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from .hosts import HostNotAllowed, HostPolicy, IPAddress, allowed_addresses
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
                left = None if attempt is None else attempt.deadline - time.monotonic()
                addresses = connectable(policy, self._dns_host, self.port, left)
            except Refusal as exc:
                if attempt is not None:
                    attempt.refusal = str(exc)
                raise NewConnectionError(self, str(exc)) from exc
            error: OSError | None = None
            for address in addresses:
                timeout = self.timeout
                if attempt is not None:  # several addresses share one deadline
                    left = attempt.deadline - time.monotonic()
                    if left <= 0:
                        attempt.timed_out = True
                        raise ConnectTimeoutError(self, "connect timed out") from error
                    timeout = min(timeout, left) if isinstance(timeout, (int, float)) else left
                try:
                    sock = urllib3_connection.create_connection(
                        (str(address), self.port), timeout,
                        source_address=self.source_address, socket_options=self.socket_options)
                except OSError as exc:
                    error = exc
                    continue
                if attempt is not None:
                    # the watchdog's handle shares the connection, so it also cuts the TLS
                    # handshake and the TLS socket that will wrap this one
                    watchdog.watch(sock, attempt)
                    self._watched_for = attempt
                return sock
            if isinstance(error, TimeoutError):
                raise ConnectTimeoutError(self, "connect timed out") from error
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {error}") from error

        def request(self, *args, **kwargs):
            attempt = getattr(_current, "attempt", None)
            if (self.sock is not None and attempt is not None
                    and getattr(self, "_watched_for", None) is not attempt):
                watchdog.watch(self.sock, attempt)  # a kept-alive connection, reused
                self._watched_for = attempt
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
    """Sends with `requests` from a thread pool; one keep-alive session per thread.

    `verify` is passed to requests as is: True (the system's CA bundle), or a CA bundle path.
    """

    def __init__(self, policy: HostPolicy, concurrency: int = 32,
                 max_response_bytes: int = 64 * 1024, kept_response_bytes: int = 4 * 1024,
                 verify: bool | str = True):
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self.kept_response_bytes = kept_response_bytes
        self.verify = verify
        self._concurrency = concurrency
        self._watchdog = Watchdog()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def submit(self, request: OutgoingRequest) -> Future:
        """Send on the pool; the future's result is the Outcome."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="send")
            return self._pool.submit(self.send, request)

    def close(self) -> None:
        """Wait for the sends in flight, then close every kept-alive connection."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._pool_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()
        self._watchdog.stop()

    def _session(self) -> requests.Session:
        local = self._local
        session = getattr(local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # a proxy from the environment would bypass the host check
            session.verify = self.verify
            # the excerpt is kept as received, and a compressed answer could be a zip bomb
            session.headers["Accept-Encoding"] = "identity"
            adapter = _GuardedAdapter(self.policy, self._watchdog, pool_size=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            with self._pool_lock:
                self._sessions.append(session)
            local.session = session
        return session

    def send(self, request: OutgoingRequest) -> Outcome:
        """Make one attempt; never raises, never outlives `request.timeout` by much."""
        started = time.monotonic()
        attempt = _Attempt(deadline=started + request.timeout)
        _current.attempt = attempt
        try:
            code, body, error = self._post(request, attempt)
        except Exception as exc:  # noqa: BLE001 - a client bug is a failed attempt, not a crash
            code, body, error = None, None, f"request failed: {exc!r}"
        finally:
            _current.attempt = None
            self._watchdog.release(attempt)
        duration_ms = int((time.monotonic() - started) * 1000)
        if attempt.timed_out and code is None:
            error = timed_out(request.timeout)
        return Outcome(request.key, code, duration_ms, error, body)

    def _post(self, request: OutgoingRequest, attempt: _Attempt):
        """(code, kept body, error) of one POST."""
        try:
            response = self._session().post(
                request.url, data=request.body, headers=request.headers,
                timeout=request.timeout, allow_redirects=False, stream=True)
        except requests.exceptions.Timeout:
            return None, None, timed_out(request.timeout)
        except requests.exceptions.SSLError as exc:
            return None, None, f"TLS error: {reason_of(exc)}"
        except requests.exceptions.ConnectionError as exc:
            return None, None, attempt.refusal or f"connection failed: {reason_of(exc)}"
        except requests.exceptions.RequestException as exc:
            return None, None, f"request failed: {reason_of(exc)}"
        with response:
            if attempt.timed_out:
                # cut while the status line and headers arrived: what http.client parsed
                # up to the cut is a truncated header block, not an answer
                return None, None, None
            body, read_error = self._read(response)
        if attempt.timed_out:  # the body was cut short, with or without an error showing
            read_error = timed_out(request.timeout)
        code = response.status_code
        return code, body, judge_answer(code, response.headers.get("Location"), read_error)

    def _read(self, response: requests.Response) -> tuple[str | None, str | None]:
        """Read at most max_response_bytes; keep kept_response_bytes as text.

        A body read to its end goes back to the pool with its connection (keep-alive); one
        cut short closes it.
        """
        try:
            data = response.raw.read(self.max_response_bytes, decode_content=False)
        except Exception as exc:  # noqa: BLE001
            return None, reason_of(exc)
        return kept_text(data, self.kept_response_bytes), None


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it wraps (reason, exception args, cause, context)."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or any(item is seen for seen in found):
            continue
        found.append(item)
        reason = getattr(item, "reason", None)
        todo.append(reason if isinstance(reason, BaseException) else None)
        todo.extend(a for a in item.args if isinstance(a, BaseException))
        todo.extend((item.__cause__, item.__context__))
    return found


_CLIENT_MODULES = ("urllib3", "requests", "aiohttp")  # their OSErrors wrap the OS's own


def reason_of(exc: BaseException) -> str:
    """The innermost useful message of an HTTP client's exception (requests/urllib3, aiohttp)."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(e, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
           for e in chain) or "RemoteDisconnected" in text:
        return "connection closed by the receiver without an answer"
    for e in chain:
        if isinstance(e, http.client.HTTPException):
            return f"the answer is not valid HTTP ({type(e).__name__}: {str(e).strip()[:200]})"
    for e in chain:  # the OS's or the TLS library's own words, if they are in there
        if isinstance(e, OSError) and not type(e).__module__.startswith(_CLIENT_MODULES):
            return str(e)
    reason: BaseException = exc
    while True:
        inner = getattr(reason, "reason", None)
        if not isinstance(inner, BaseException):
            inner = reason.args[0] if reason.args and isinstance(reason.args[0], BaseException) \
                else None
        if inner is None or inner is reason:
            break
        reason = inner
    return str(reason)
