"""The sender: aiohttp on one event loop (uvloop when installed), behind the seam of `ports`.

Every wire rule of SPEC §4 lives here: a total time limit for the whole exchange, no
redirects, a capped read, no proxy from the environment, receivers' certificates checked
against the usual CA certificates plus `WEBHOOKS_CA_BUNDLE`, and the allowed-hosts check on
the address that is actually connected to. Its callers never see the loop: `submit()`
answers a `concurrent.futures.Future` of an `Outcome`, from any thread.

Where the allowed-hosts check sits: aiohttp hands IP literals straight to the socket, bypassing
any resolver, and refuses legacy numeric forms such as `127.1`. `_GuardedConnector` therefore
sends every host, literal or name, through `PolicyResolver` (the policy's own resolution, so a
literal is judged like a name), and connects only to the addresses it returned. A socket
factory checks each address once more just before connecting, so nothing reaches the network
unchecked even if aiohttp's internals change.

Two aiohttp internals are replaced, which is why aiohttp is pinned: `_resolve_host` (above) and
the connection protocol factory, whose `close()` here drops the connection at once instead of
waiting for a TLS shutdown or a write flush that a stalled receiver would hold open.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import socket
import ssl
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError

from .hosts import HostPolicy, IPAddress
from .ports import (
    Outcome,
    OutgoingRequest,
    Refusal,
    connectable,
    judge_answer,
    kept_text,
    timed_out,
)

try:  # a faster event loop when available; the standard one otherwise
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in requirements.txt
    uvloop = None

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


@dataclass
class _Attempt:
    """The attempt a task is running, for the resolver and the socket factory."""

    host: str | None = None
    resolving: bool = False
    refusal: str | None = None
    approved: set = field(default_factory=set)


_current: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "webhooks_send_attempt", default=None)


class PolicyResolver(AbstractResolver):
    """Resolves with the allowed-hosts policy: answers only addresses that may be connected to.

    A refused or unresolvable host raises `Refusal`, whose text is the attempt's error.
    """

    def __init__(self, policy: HostPolicy, executor: ThreadPoolExecutor):
        self.policy = policy
        self._executor = executor

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        attempt = _current.get()
        if attempt is not None:
            attempt.host, attempt.resolving = host, True
        try:
            addresses = await asyncio.get_running_loop().run_in_executor(
                self._executor, connectable, self.policy, host, port, None)
        except Refusal as exc:
            if attempt is not None:
                attempt.refusal, attempt.resolving = str(exc), False
            raise
        if attempt is not None:
            attempt.resolving = False
            attempt.approved.update(addresses)
        return [ResolveResult(hostname=host, host=str(a), port=port, proto=0, flags=_NUMERIC,
                              family=socket.AF_INET6 if a.version == 6 else socket.AF_INET)
                for a in addresses]

    async def close(self) -> None:
        pass


class _AbortingHandler(ResponseHandler):
    """Closes a connection by dropping it: one given up on (cut at the deadline, body not read
    to its end) is never left waiting on a TLS shutdown or a write a stalled receiver holds."""

    def close(self) -> None:
        self.abort()


class _GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector whose every host, IP literals included, goes through the policy."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._factory = functools.partial(_AbortingHandler, loop=self._loop)

    async def _resolve_host(self, host: str, port: int, traces=None) -> list[ResolveResult]:
        return await self._resolver.resolve(host, port, family=self._family)


def _guarded_socket(policy: HostPolicy):
    """A socket factory that refuses an address neither the policy nor the resolver allowed."""

    def factory(addr_info) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address: IPAddress = ipaddress.ip_address(sockaddr[0].split("%")[0])
        attempt = _current.get()
        if not (policy.allows_address(address)
                or (attempt is not None and address in attempt.approved)):
            text = policy.refusal(str(address), address)
            if attempt is not None:
                attempt.refusal = attempt.refusal or text
            raise Refusal(text)
        return socket.socket(family, kind, proto)

    return factory


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Receivers' certificates are checked against certifi's CA certificates, plus those of
    `ca_bundle` (WEBHOOKS_CA_BUNDLE: a private CA) when given."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class _Loop:
    """One event loop in its daemon thread, with the session and slots that live on it."""

    def __init__(self, sender: AsyncioSender):
        self.loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="send-loop",
                                       daemon=True)
        self.dns = ThreadPoolExecutor(16, thread_name_prefix="send-dns")
        self.tasks: set[asyncio.Task] = set()
        self.thread.start()
        try:
            self.session, self.slots = asyncio.run_coroutine_threadsafe(
                self._open(sender), self.loop).result()
        except BaseException:  # e.g. an unreadable CA bundle: leave no thread behind
            self._stop()
            raise

    async def _open(self, sender: AsyncioSender):
        connector = _GuardedConnector(
            resolver=PolicyResolver(sender.policy, self.dns), use_dns_cache=False,
            socket_factory=_guarded_socket(sender.policy), ssl=_tls_context(sender.ca_bundle),
            # Many webhooks may share one host; the dispatcher's per-webhook limit is what
            # keeps one slow receiver from taking every slot, so no per-host limit here.
            limit=sender.concurrency, limit_per_host=0)
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # a proxy from the environment would bypass the host check
            auto_decompress=False,  # the excerpt is kept as received; no zip bombs
            headers={"Accept-Encoding": "identity"},
            cookie_jar=aiohttp.DummyCookieJar(),  # receivers' cookies are never sent back
            raise_for_status=False)
        return session, asyncio.Semaphore(sender.concurrency)

    def close(self) -> None:
        """Wait for the sends in flight, close the session, stop the loop and its thread."""
        asyncio.run_coroutine_threadsafe(self._shut(), self.loop).result()
        self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        self.dns.shutdown(wait=False)  # a lookup that hangs must not hold up the close

    async def _shut(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.session.close()
        await asyncio.sleep(0)  # let closed transports finish before the loop stops


class AsyncioSender:
    """Sends with aiohttp from one event loop in a daemon thread.

    At most `concurrency` requests are in flight (the rest wait their turn, and their time
    limit starts when their turn comes); kept-alive connections are reused per host.
    `ca_bundle` is a PEM file of CA certificates trusted besides the usual ones.
    """

    def __init__(self, policy: HostPolicy, concurrency: int = 256,
                 max_response_bytes: int = 64 * 1024, kept_response_bytes: int = 4 * 1024,
                 ca_bundle: str | None = None):
        self.policy = policy
        self.concurrency = concurrency
        self.max_response_bytes = max_response_bytes
        self.kept_response_bytes = kept_response_bytes
        self.ca_bundle = ca_bundle
        self._lock = threading.Lock()
        self._running: _Loop | None = None
        self._finalizer: weakref.finalize | None = None

    def submit(self, request: OutgoingRequest) -> Future:
        """Send on the event loop; the future's result is the Outcome."""
        with self._lock:
            if self._running is None:
                self._running = _Loop(self)
                # a sender dropped without close() still closes its loop, thread and session
                self._finalizer = weakref.finalize(self, _close_in_background, self._running)
            running = self._running
        return asyncio.run_coroutine_threadsafe(self._send(request, running), running.loop)

    def send(self, request: OutgoingRequest) -> Outcome:
        """Make one attempt and wait for it; never raises, never outlives the timeout by much."""
        return self.submit(request).result()

    def close(self) -> None:
        """Wait for the sends in flight, then close every kept-alive connection."""
        with self._lock:
            running, self._running = self._running, None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
        if running is not None:
            running.close()

    async def _send(self, request: OutgoingRequest, running: _Loop) -> Outcome:
        task = asyncio.current_task()
        running.tasks.add(task)
        try:
            async with running.slots:
                return await self._attempt(request, running.session)
        finally:
            running.tasks.discard(task)

    async def _attempt(self, request: OutgoingRequest, session: aiohttp.ClientSession) -> Outcome:
        started = time.monotonic()
        attempt = _Attempt()
        token = _current.set(attempt)
        try:
            code, body, error = await self._post(session, request, attempt)
        except Exception as exc:  # noqa: BLE001 - a client bug is a failed attempt, not a crash
            code, body, error = None, None, f"request failed: {exc!r}"
        finally:
            _current.reset(token)
        duration_ms = int((time.monotonic() - started) * 1000)
        return Outcome(request.key, code, duration_ms, error, body)

    async def _post(self, session: aiohttp.ClientSession, request: OutgoingRequest,
                    attempt: _Attempt):
        """(code, kept body, error) of one POST; everything within `request.timeout`."""
        code = location = body = None
        timeout = request.timeout
        try:
            # aiohttp's own total limit, and ours (aiohttp rounds long limits up) to be sure
            async with asyncio.timeout(timeout):
                response = await session.post(
                    request.url, data=request.body, headers=dict(request.headers),
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout, ceil_threshold=timeout + 1))
                complete = False
                try:
                    code, location = response.status, response.headers.get("Location")
                    data, complete = await self._read(response)
                    body = kept_text(data, self.kept_response_bytes)
                finally:
                    if complete:  # read to its end: the connection serves the next request
                        response.release()
                    else:
                        response.close()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a clear text
            if code is None:
                return None, None, _failure(exc, attempt, timeout)
            read_error = timed_out(timeout) if isinstance(exc, TimeoutError) else _reason(exc)
            return code, body, judge_answer(code, location, read_error)
        return code, body, judge_answer(code, location, None)

    async def _read(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """At most max_response_bytes of the body, and whether that was all of it."""
        data = bytearray()
        while len(data) < self.max_response_bytes:
            chunk = await response.content.read(self.max_response_bytes - len(data))
            if not chunk:
                return bytes(data), True
            data += chunk
        return bytes(data), response.content.at_eof()


def _close_in_background(running: _Loop) -> None:
    """Close a loop whose sender was garbage-collected, from a thread of its own (never the
    loop's, which the close waits on)."""
    threading.Thread(target=running.close, name="send-loop-close", daemon=True).start()


def _failure(exc: BaseException, attempt: _Attempt, timeout: float) -> str:
    """The error text of an attempt that got no answer."""
    if isinstance(exc, TimeoutError):
        if attempt.resolving:
            return (f"could not resolve host {attempt.host}: DNS lookup of {attempt.host} "
                    f"took more than {timeout:g} s")
        return timed_out(timeout)
    if attempt.refusal is not None:
        return attempt.refusal
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error: {reason_of(exc)}"
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientResponseError)):
        return f"connection failed: {_reason(exc)}"
    return f"request failed: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """reason_of, plus aiohttp's words for a closed connection and an answer that is not HTTP."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed by the receiver without an answer"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"the URL is not valid ({exc})"
    parse_errors = [e for e in _causes(exc) if isinstance(e, HttpProcessingError)]
    if parse_errors:  # the innermost names what was wrong (BadStatusLine, LineTooLong...)
        error = parse_errors[-1]
        words = " ".join(str(error.message).split())[:200]
        return f"the answer is not valid HTTP ({type(error).__name__}: {words})"
    return reason_of(exc)


def _causes(exc: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while exc is not None and not any(exc is seen for seen in found):
        found.append(exc)
        exc = exc.__cause__
    return found


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


def reason_of(exc: BaseException) -> str:
    """The innermost useful message of an exception from aiohttp."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in chain):
        return "connection closed by the receiver without an answer"
    for e in chain:  # the OS's or the TLS library's own words (aiohttp's OSErrors wrap them)
        if isinstance(e, OSError) and not type(e).__module__.startswith("aiohttp"):
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
