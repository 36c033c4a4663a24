"""A fault-injecting HTTP proxy on 127.0.0.1 in front of one real server (or double).

At a set rate (seeded) a request gets one of: a 500 without forwarding, a connection reset
before forwarding, a reset *after* forwarding (the server did it, the client never hears), a
slow answer, or a 429 with ``Retry-After``. Everything else is forwarded as it is.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("500", "reset_before", "reset_after", "slow", "429")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class FaultProxy:
    """``with FaultProxy(upstream, rate=0.2, seed=1) as proxy: proxy.url``; ``rate`` may be
    changed at any time (0: a clean pass)."""

    def __init__(self, upstream: str, *, rate: float = 0.0, seed: int = 0, slow: float = 0.15):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.rate, self.slow = rate, slow
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL (the upstream's path included)."""
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.prefix}/"

    def fault(self) -> str | None:
        """The fault for the next request, or None."""
        with self._lock:
            if self.random.random() >= self.rate:
                return None
            chosen = self.random.choice(FAULTS)
            self.injected[chosen] += 1
            return chosen

    def __enter__(self) -> FaultProxy:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.proxy = self  # type: ignore[attr-defined]
        self._httpd = httpd
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reset(self) -> None:
        """Close the connection with a RST: the client sees 'connection reset by peer'."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self, body: bytes) -> tuple[int, bytes, dict[str, str]] | None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP}
            with proxy._lock:
                proxy.forwarded += 1
            return response.status, data, out
        finally:
            conn.close()

    def _serve(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.fault()
        if fault == "500":
            self._answer(500, b'{"message": "injected"}', {"Content-Type": "application/json"})
            return
        if fault == "429":
            self._answer(429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"})
            return
        if fault == "reset_before":
            self._reset()
            return
        if fault == "slow":
            time.sleep(proxy.slow)
        answer = self._forward(body)
        if fault == "reset_after" or answer is None:
            self._reset()
            return
        self._answer(*answer)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve
    do_PROPFIND = do_REPORT = do_MKCALENDAR = do_PROPPATCH = do_MKCOL = _serve
