"""The sender against a real receiver on 127.0.0.1: the wire rules of SPEC §4."""
from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest
import trustme

from webhooks import create_app
from webhooks.config import ConfigError, from_environment
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.ports import OutgoingRequest
from webhooks.delivery.sender import AsyncioSender, _tls_context
from webhooks.extensions import db
from webhooks.scheduler import sender_for

from .receiver import Receiver

TIMEOUT = 1.0
MARGIN = 1.5  # two cores, a busy CI box: generous on purpose
LOOPBACK = HostPolicy.parse("loopback")
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "webhooks-test/1.2.3",
    "X-Webhook-Signature": "sha256=" + "ab" * 32,
    "X-Webhook-Event": "task.updated",
    "X-Webhook-Delivery": "12345",
}


@pytest.fixture
def sender(make_sender):
    return make_sender(LOOPBACK, concurrency=8)


def request(url: str, body: bytes = b'{"event":"task.updated"}', headers=None,
            timeout: float = TIMEOUT, key="k") -> OutgoingRequest:
    return OutgoingRequest(key, url, body, dict(HEADERS if headers is None else headers), timeout)


def timed_send(sender, req):
    started = time.monotonic()
    outcome = sender.send(req)
    return outcome, time.monotonic() - started


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- answers --------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [200, 201, 202, 299])
def test_2xx_answer_is_a_success_with_its_code_and_body(code, sender, receiver):
    receiver.script.append(("status", code, b"thanks"))
    outcome = sender.send(request(receiver.url(), key=("delivery", 7)))
    assert outcome.ok
    assert outcome.key == ("delivery", 7)
    assert outcome.http_code == code
    assert outcome.error is None
    assert outcome.response_body == "thanks"
    assert 0 <= outcome.duration_ms < 1000


def test_204_without_a_body_is_a_success(sender, receiver):
    receiver.script.append(("status", 204, b""))
    outcome = sender.send(request(receiver.url()))
    assert outcome.ok and outcome.http_code == 204 and outcome.response_body == ""


def test_only_the_first_4_kib_of_the_answer_are_kept(sender, receiver):
    body = b"0123456789abcdef" * 640  # 10 KiB
    receiver.script.append(("status", 200, body))
    outcome = sender.send(request(receiver.url()))
    assert outcome.ok
    assert outcome.response_body == body[:4096].decode()


def test_a_body_that_is_not_utf8_is_kept_with_replacement_characters(sender, receiver):
    receiver.script.append(("status", 200, b"ok \xff\xfe end"))
    outcome = sender.send(request(receiver.url()))
    assert outcome.ok and outcome.response_body == "ok \ufffd\ufffd end"


@pytest.mark.parametrize("code", [400, 404, 410, 429, 500, 502, 503])
def test_non_2xx_answer_is_a_failure_named_by_its_code(code, sender, receiver):
    receiver.script.append(("status", code, b"nope"))
    outcome = sender.send(request(receiver.url()))
    assert not outcome.ok
    assert outcome.http_code == code
    assert outcome.error == f"HTTP {code}"
    assert outcome.response_body == "nope"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed_and_is_a_failure(code, sender, receiver):
    receiver.script.append(("redirect", receiver.url("/elsewhere"), code))
    outcome = sender.send(request(receiver.url()))
    assert not outcome.ok
    assert outcome.http_code == code
    assert "redirect" in outcome.error and "not followed" in outcome.error
    assert receiver.url("/elsewhere") in outcome.error
    time.sleep(0.3)  # a followed redirect would have arrived by now
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_chunked_answer_is_read(sender, receiver):
    receiver.script.append(("chunked", [b"first ", b"second"]))
    outcome = sender.send(request(receiver.url()))
    assert outcome.ok and outcome.response_body == "first second"


# --- what arrives -----------------------------------------------------------------------------

def test_headers_and_the_exact_body_bytes_arrive_unchanged(sender, receiver):
    body = '{"event":"task.updated", "name":"Zoë ✓","n":1.50}'.encode()
    outcome = sender.send(request(receiver.url("/hooks/in?team=7&x=%20y"), body=body))
    assert outcome.ok, outcome.error
    (got,) = receiver.wait_for(1)
    assert got.method == "POST"
    assert got.path == "/hooks/in?team=7&x=%20y"
    assert got.body == body
    assert got.headers["Content-Length"] == str(len(body))
    for name, value in HEADERS.items():
        assert got.headers[name] == value
    assert "Authorization" not in got.headers and "Cookie" not in got.headers


def test_the_answer_is_asked_for_uncompressed(sender, receiver):
    sender.send(request(receiver.url(), headers={"Content-Type": "application/json"}))
    assert receiver.wait_for(1)[0].headers["Accept-Encoding"] == "identity"


# --- time limits ------------------------------------------------------------------------------

def test_no_answer_within_the_timeout_is_a_failure(sender, receiver):
    receiver.script.append(("hang", 5))
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert not outcome.ok
    assert outcome.http_code is None
    assert outcome.error == "timed out after 1 s"
    assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + MARGIN
    assert outcome.duration_ms >= (TIMEOUT - 0.1) * 1000


def test_a_fractional_timeout_is_shown_as_given(sender, receiver):
    receiver.script.append(("hang", 5))
    outcome, elapsed = timed_send(sender, request(receiver.url(), timeout=0.5))
    assert outcome.error == "timed out after 0.5 s"
    assert elapsed < 0.5 + MARGIN


def test_trickled_headers_are_cut_at_the_deadline_and_fail(sender, receiver):
    # one header line every 0.2 s: no single read waits long enough to time out
    receiver.script.append(("slow-headers", 0.2, 100))
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert elapsed < TIMEOUT + MARGIN
    assert not outcome.ok
    assert outcome.http_code is None
    assert outcome.error == "timed out after 1 s"


def test_trickled_body_is_cut_at_the_deadline_and_fails(sender, receiver):
    # the status came in time, but the answer did not: no complete answer in time is a failure
    receiver.script.append(("trickle", 0.2, 100))
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert elapsed < TIMEOUT + MARGIN
    assert outcome.http_code == 200
    assert not outcome.ok
    assert outcome.error == "HTTP 200 (reading the answer: timed out after 1 s)"


def test_trickled_error_body_keeps_its_code_in_the_error(sender, receiver):
    receiver.script.append(("trickle", 0.2, 100, 503))
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert elapsed < TIMEOUT + MARGIN
    assert not outcome.ok
    assert outcome.http_code == 503
    assert outcome.error == "HTTP 503 (reading the answer: timed out after 1 s)"


def test_no_sender_thread_is_stuck_after_a_batch_of_hanging_receivers(sender, receiver):
    receiver.script.extend([("hang", 10), ("trickle", 0.2, 100), ("slow-headers", 0.2, 100)] * 3)
    started = time.monotonic()
    futures = [sender.submit(request(receiver.url(), key=i)) for i in range(8)]
    outcomes = [f.result(timeout=TIMEOUT + MARGIN + 2) for f in futures]
    assert time.monotonic() - started < TIMEOUT + MARGIN
    assert sorted(o.key for o in outcomes) == list(range(8))
    assert all(o.duration_ms < (TIMEOUT + MARGIN) * 1000 for o in outcomes)
    # the pool is free again: a fresh batch goes straight through
    receiver.script.clear()
    started = time.monotonic()
    futures = [sender.submit(request(receiver.url(), key=i)) for i in range(8)]
    second = [f.result(timeout=5) for f in futures]
    assert all(o.ok for o in second), [o for o in second if not o.ok]
    assert time.monotonic() - started < MARGIN


@pytest.fixture
def unanswered_port():
    """A port whose accept queue is full, so that a connect to it never completes."""
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    with socket.socket() as probe:
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", port))
            answered = True
        except OSError:
            answered = False
    try:
        if answered:
            pytest.skip("this kernel completes connects past a full accept queue")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_connect_that_never_completes_times_out(sender, unanswered_port):
    outcome, elapsed = timed_send(sender, request(f"http://127.0.0.1:{unanswered_port}/hook"))
    assert elapsed < TIMEOUT + MARGIN
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error == "timed out after 1 s"


def test_all_addresses_of_a_name_share_one_deadline(monkeypatch, sender, unanswered_port):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "three.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
                    for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3")]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome, elapsed = timed_send(sender, request(f"http://three.example:{unanswered_port}/"))
    assert elapsed < TIMEOUT + MARGIN  # not one timeout per address
    assert outcome.error == "timed out after 1 s"


def test_a_slow_dns_lookup_counts_toward_the_deadline(sender, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "slow-dns.example":
            time.sleep(TIMEOUT + 2)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome, elapsed = timed_send(sender, request("http://slow-dns.example/"))
    assert elapsed < TIMEOUT + MARGIN
    assert not outcome.ok and "DNS lookup of slow-dns.example" in outcome.error


def test_many_concurrent_sends_all_arrive(sender, receiver):
    futures = [sender.submit(request(receiver.url(f"/hook/{i}"), key=i)) for i in range(60)]
    outcomes = [f.result(timeout=10) for f in futures]
    assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok]
    assert sorted(r.path for r in receiver.wait_for(60)) == sorted(f"/hook/{i}"
                                                                   for i in range(60))
    assert receiver.connections <= 8  # one kept-alive connection per slot (thread or in flight)


# --- big answers --------------------------------------------------------------------------------

def test_a_huge_answer_is_read_only_up_to_64_kib(sender, receiver):
    size = 100 * 1024 * 1024
    receiver.script.append(("big", size))
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert outcome.ok
    assert outcome.response_body == "y" * 4096
    assert elapsed < MARGIN
    deadline = time.monotonic() + 5
    while not receiver.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.sent and receiver.sent[0] < size // 4  # it stopped being read


def test_the_read_limit_is_max_response_bytes(receiver, make_sender):
    sender = make_sender(LOOPBACK, concurrency=2, max_response_bytes=10_000,
                         kept_response_bytes=1_000_000)
    try:
        receiver.script.append(("big", 5 * 1024 * 1024))
        outcome = sender.send(request(receiver.url()))
    finally:
        sender.close()
    assert outcome.ok
    assert len(outcome.response_body) == 10_000


# --- broken receivers ---------------------------------------------------------------------------

def test_a_dropped_connection_is_a_failure(sender, receiver):
    receiver.script.append("drop")
    outcome, elapsed = timed_send(sender, request(receiver.url()))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error == "connection failed: connection closed by the receiver without an answer"
    assert elapsed < MARGIN


def test_a_refused_connection_is_a_failure(sender):
    outcome, elapsed = timed_send(sender, request(f"http://127.0.0.1:{closed_port()}/hook"))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error == "connection failed: connection refused"
    assert elapsed < MARGIN


def test_a_non_http_answer_is_a_failure(sender, receiver):
    receiver.script.append("garbage")
    outcome = sender.send(request(receiver.url()))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error.startswith("connection failed: the answer is not valid HTTP")
    assert "this is not HTTP at all" in outcome.error


def test_an_unknown_host_is_a_failure_naming_the_host(sender):
    outcome, elapsed = timed_send(sender, request("http://no-such-host.invalid/hook"))
    assert not outcome.ok and outcome.http_code is None
    assert "no-such-host.invalid" in outcome.error
    assert "resolve" in outcome.error
    assert elapsed < TIMEOUT + MARGIN


def test_send_never_raises_on_a_url_the_client_cannot_use(sender):
    for url in ("http://[::1/hook", "ftp://127.0.0.1/hook", "not a url"):
        outcome = sender.send(request(url))
        assert not outcome.ok and outcome.http_code is None and outcome.error


# --- keep-alive ---------------------------------------------------------------------------------

def test_sequential_sends_reuse_one_connection(sender, receiver):
    receiver.script.extend([200, ("status", 500, b"x" * 3000), ("redirect", "/x"),
                            ("chunked", [b"a", b"b"]), ("status", 204, b""), 200])
    for _ in range(8):
        sender.send(request(receiver.url()))
    assert len(receiver.wait_for(8)) == 8
    assert receiver.connections == 1


def test_a_connection_cut_by_the_deadline_is_not_reused(sender, receiver):
    receiver.script.extend([("trickle", 0.2, 100), ("slow-headers", 0.2, 100), 200])
    sender.send(request(receiver.url()))
    sender.send(request(receiver.url()))
    outcome = sender.send(request(receiver.url()))
    assert outcome.ok, outcome.error
    assert receiver.connections == 3


def test_a_kept_alive_connection_closed_by_the_receiver_meanwhile_is_replaced(sender):
    receiver = Receiver(idle_timeout=0.2)
    try:
        assert sender.send(request(receiver.url())).ok
        time.sleep(0.6)  # the receiver has closed the idle connection
        outcome = sender.send(request(receiver.url()))
        assert outcome.ok, outcome.error
        assert receiver.connections == 2
    finally:
        receiver.close()


# --- TLS ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    """A private CA made for this test, and a certificate it issued for 127.0.0.1 and
    localhost: (CA certificate path, server certificate chain path, key path)."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    paths = folder / "ca.pem", folder / "chain.pem", folder / "key.pem"
    ca.cert_pem.write_to_path(str(paths[0]))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(paths[1]), append=True)
    server.private_key_pem.write_to_path(str(paths[2]))
    return tuple(str(p) for p in paths)


@pytest.fixture
def tls_receiver(private_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*private_ca[1:])
    server = Receiver(ssl_context=context)
    yield server
    server.close()


@pytest.fixture
def trusting_sender(private_ca, make_sender):
    return make_sender(LOOPBACK, concurrency=4, ca_bundle=private_ca[0])


def test_https_to_a_plain_http_port_is_a_tls_error(sender, receiver):
    outcome, elapsed = timed_send(sender, request(f"https://127.0.0.1:{receiver.port}/hook"))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error.startswith("TLS error")
    assert elapsed < TIMEOUT + MARGIN


def test_an_untrusted_certificate_is_a_tls_error(sender, tls_receiver):
    outcome = sender.send(request(tls_receiver.url()))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error.startswith("TLS error")
    assert "certificate verify failed" in outcome.error
    assert tls_receiver.requests == []


def test_a_trusted_certificate_delivers_and_keeps_the_connection(trusting_sender, tls_receiver):
    body = b'{"event":"webhook.test"}'
    for _ in range(3):
        outcome = trusting_sender.send(request(tls_receiver.url(), body=body))
        assert outcome.ok, outcome.error
    assert [r.body for r in tls_receiver.wait_for(3)] == [body] * 3
    assert tls_receiver.connections == 1


@pytest.mark.parametrize("action, code", [
    (("hang", 10), None), (("trickle", 0.2, 100), 200), (("slow-headers", 0.2, 100), None)])
def test_tls_answers_are_cut_at_the_deadline(action, code, trusting_sender, tls_receiver):
    tls_receiver.script.append(action)
    outcome, elapsed = timed_send(trusting_sender, request(tls_receiver.url()))
    assert elapsed < TIMEOUT + MARGIN
    assert outcome.http_code == code
    assert not outcome.ok
    if code is None:
        assert outcome.error == "timed out after 1 s"


def test_tls_checks_the_certificate_against_the_name_not_the_address(
        monkeypatch, trusting_sender, tls_receiver):
    assert trusting_sender.send(request(f"https://localhost:{tls_receiver.port}/hook")).ok
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == "other.example" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome = trusting_sender.send(request(f"https://other.example:{tls_receiver.port}/hook"))
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error.startswith("TLS error")
    assert "other.example" in outcome.error


def test_a_trickled_tls_handshake_is_cut_at_the_deadline(sender):
    """The server starts a TLS record and sends it one byte at a time, never finishing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)  # the ClientHello
            try:
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB...
                while not stop.wait(0.1):
                    conn.sendall(b"\x02")  # ...that never ends
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/hook"
        outcome, elapsed = timed_send(sender, request(url))
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert elapsed < TIMEOUT + MARGIN
    assert not outcome.ok and outcome.http_code is None
    assert outcome.error == "timed out after 1 s"


# --- WEBHOOKS_CA_BUNDLE and the app's sender ---------------------------------------------------

def test_webhooks_ca_bundle_trusts_a_private_ca_besides_the_usual_ones(private_ca, tls_receiver,
                                                                      tmp_path):
    config = from_environment({"WEBHOOKS_CA_BUNDLE": private_ca[0]}, str(tmp_path))
    app = create_app({**config, "TESTING": True, "SECRET_KEY": "k",
                      "WEBHOOKS_ALLOWED_HOSTS": "loopback",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    sender = sender_for(app)
    try:
        assert type(sender) is AsyncioSender and sender_for(app) is sender
        outcome = sender.send(request(tls_receiver.url()))
        assert outcome.ok, outcome.error
        assert tls_receiver.wait_for(1)[0].headers["X-Webhook-Event"] == "task.updated"
    finally:
        sender.close()
        with app.app_context():
            db.engine.dispose()
    usual = _tls_context(None).get_ca_certs()
    assert len(usual) > 100  # certifi's, all still trusted
    with_private = _tls_context(private_ca[0]).get_ca_certs()
    assert len(with_private) == len(usual) + 1 and all(c in with_private for c in usual)


@pytest.mark.parametrize("value", ["/no/such/file.pem", "__file__"])
def test_an_unreadable_ca_bundle_stops_the_service_at_start(value, tmp_path):
    path = __file__ if value == "__file__" else value  # a file, but no certificate in it
    with pytest.raises(ConfigError, match="WEBHOOKS_CA_BUNDLE must be a readable PEM file"):
        from_environment({"WEBHOOKS_CA_BUNDLE": path}, str(tmp_path))


def test_without_a_ca_bundle_the_app_sends_with_the_usual_cas_and_its_policy(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "WEBHOOKS_SEND_CONCURRENCY": 5})
    sender = sender_for(app)
    try:
        assert sender.ca_bundle is None and sender.policy == HostPolicy.parse("external")
    finally:
        sender.close()
        with app.app_context():
            db.engine.dispose()


def test_an_asyncio_sender_dropped_without_close_still_closes_its_loop(receiver):
    import gc
    import threading
    import warnings

    sender = AsyncioSender(LOOPBACK, concurrency=2)
    assert sender.send(request(receiver.url())).ok
    loop_threads = [t for t in threading.enumerate() if t.name == "send-loop"]
    assert loop_threads
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unclosed aiohttp session would warn here
        del sender
        gc.collect()
        for thread in loop_threads:
            thread.join(10)
    assert not any(t.is_alive() for t in loop_threads)
