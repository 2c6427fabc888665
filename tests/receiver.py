"""A real HTTP receiver on 127.0.0.1 for tests: records requests, answers as scripted."""
from __future__ import annotations

import socket
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

    an int (that status), ("status", code, body), ("redirect", location), ("hang", seconds),
    ("trickle", seconds_per_byte, n_bytes), "drop" (close without answering), ("big", n_bytes).
    """

    def __init__(self):
        self.requests: list[Received] = []
        self.script: deque = deque()
        self.default = 200
        self._cond = threading.Condition()
        self.connections = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

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
                handler.send_response(302)
                handler.send_header("Location", action[1])
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            elif kind == "hang":
                time.sleep(action[1])
                _answer(handler, 200, b"late")
            elif kind == "trickle":
                handler.send_response(200)
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
                handler.send_response(200)
                handler.send_header("Content-Length", str(action[1]))
                handler.end_headers()
                chunk = b"y" * 65536
                left = action[1]
                while left > 0:
                    handler.wfile.write(chunk[:left])
                    left -= len(chunk)
            elif kind == "drop":
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
            elif kind == "garbage":
                handler.wfile.write(b"this is not HTTP at all\r\n\r\n")
                handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True


def _answer(handler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
