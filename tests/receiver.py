"""A real HTTP receiver on 127.0.0.1 for tests: records requests, answers as scripted."""
from __future__ import annotations

import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float


class Receiver:
    """Answers 200 by default. `script` holds actions for the next requests, in order:

    an int (that status), ("status", code, body), ("redirect", location[, code]),
    ("hang", seconds), ("trickle", seconds_per_byte, n_bytes[, code]) (a slow body),
    ("slow-headers", seconds_per_line, n_lines) (a status line, then header lines that never
    end), ("big", n_bytes[, status]), ("chunked", [parts]) (a chunked 200), "drop" (close without
    answering), "garbage" (a non-HTTP answer).

    With `ssl_context` (a server-side `ssl.SSLContext`) it speaks HTTPS; the TLS handshake runs
    in the connection's own thread. With `idle_timeout` it closes a kept-alive connection that
    stays idle that long, as most servers do. `sent` records, per "big" answer, how many body
    bytes were written before the client stopped reading.
    """

    def __init__(self, ssl_context=None, idle_timeout: float | None = None):
        self.requests: list[Received] = []
        self.script: deque = deque()
        self.default = 200
        self.sent: list[int] = []
        self._cond = threading.Condition()
        self.connections = 0
        self.scheme = "https" if ssl_context is not None else "http"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def setup(self):
                super().setup()
                if idle_timeout is not None:  # close kept-alive connections left idle
                    self.connection.settimeout(idle_timeout)
                with receiver._cond:
                    receiver.connections += 1

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._cond:
                    receiver.requests.append(Received("POST", self.path, dict(self.headers),
                                                      body, time.monotonic()))
                    action = receiver.script.popleft() if receiver.script else receiver.default
                    receiver._cond.notify_all()
                receiver._act(self, action)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.ssl_context = ssl_context
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Block until `count` requests have arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _act(self, handler: BaseHTTPRequestHandler, action) -> None:
        if isinstance(action, int):
            action = ("status", action, b"ok")
        kind = action if isinstance(action, str) else action[0]
        try:
            if kind == "status":
                _answer(handler, action[1], action[2])
            elif kind == "redirect":
                handler.send_response(action[2] if len(action) > 2 else 302)
                handler.send_header("Location", action[1])
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            elif kind == "hang":
                time.sleep(action[1])
                _answer(handler, 200, b"late")
            elif kind == "trickle":
                handler.send_response(action[3] if len(action) > 3 else 200)
                handler.send_header("Content-Length", str(action[2]))
                handler.end_headers()
                for _ in range(action[2]):
                    handler.wfile.write(b"x")
                    handler.wfile.flush()
                    time.sleep(action[1])
            elif kind == "slow-headers":
                handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(action[2]):
                    handler.wfile.write(b"X-Slow: 1\r\n")
                    handler.wfile.flush()
                    time.sleep(action[1])
            elif kind == "big":
                handler.send_response(action[2] if len(action) > 2 else 200)
                handler.send_header("Content-Length", str(action[1]))
                handler.end_headers()
                chunk = b"y" * 65536
                left = action[1]
                try:
                    while left > 0:
                        handler.wfile.write(chunk[:left])
                        left -= len(chunk)
                finally:
                    with self._cond:
                        self.sent.append(action[1] - max(left, 0))
                        self._cond.notify_all()
            elif kind == "chunked":
                handler.send_response(200)
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                for part in action[1]:
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                handler.wfile.write(b"0\r\n\r\n")
            elif kind == "drop":
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
            elif kind == "garbage":
                handler.wfile.write(b"this is not HTTP at all\r\n\r\n")
                handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True


class _Server(ThreadingHTTPServer):
    ssl_context = None
    request_queue_size = 128  # the default backlog of 5 drops connects of a concurrent batch

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # failed handshakes, clients gone
            super().handle_error(request, client_address)


def _answer(handler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
