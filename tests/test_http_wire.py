"""The standard-library HTTP wire against real local servers: kept-alive connections (and
one the server closed while idle), what is sent (form, JSON, query, auth), redirects that keep
the credentials on their host, and the proxies the environment names (plain HTTP and a
CONNECT tunnel to a TLS server)."""

from __future__ import annotations

import gzip
import json
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connector.http import HttpClient
from tests.certs import self_signed


class _Echo(BaseHTTPRequestHandler):
    """Answers with what it was sent; ``/close`` closes the connection after answering
    without saying so (as a server closing an idle connection does); ``/away`` redirects."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def _answer(self) -> None:
        self.server.seen_ports.add(self.client_address[1])
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/away"):
            target = self.path.partition("?to=")[2] or "/landed"
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        echo = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "body": body.decode(),
                "type": self.headers.get("Content-Type"),
                "auth": self.headers.get("Authorization"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if self.path.startswith("/gz") and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            echo = gzip.compress(echo)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(echo)))
        self.end_headers()
        self.wfile.write(echo)
        if self.path.startswith("/close"):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_REPORT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.seen_ports: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _serving(server: ThreadingHTTPServer) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def echo() -> Iterator[_Server]:
    yield from _serving(_Server())


def test_requests_share_one_kept_alive_connection(echo: _Server) -> None:
    client = HttpClient(echo.url, ("admin", "pw"))
    for _ in range(5):
        assert client.request("GET", "/x").status_code == 200
    assert len(echo.seen_ports) == 1
    client.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(echo: _Server) -> None:
    client = HttpClient(echo.url, ("admin", "pw"), attempts=1)
    for _ in range(3):
        assert client.request("GET", "/close").json()["path"] == "/close"
    assert client.request("POST", "/x", data=b"once").json()["body"] == "once"
    assert len(echo.seen_ports) == 4 and client.requests == 4


def test_form_json_query_and_credentials_are_sent_as_requests_sent_them(echo: _Server) -> None:
    client = HttpClient(echo.url, ("anna", "geheim"))
    form = client.request("POST", "/f", data={"emails": ["a@x.example", "b@x.example"], "n": None})
    assert form.json()["body"] == "emails=a%40x.example&emails=b%40x.example"
    assert form.json()["type"] == "application/x-www-form-urlencoded"
    assert form.json()["auth"] == "Basic YW5uYTpnZWhlaW0="
    sent = client.request("PUT", "/j", json={"title": "Ä"}).json()
    assert json.loads(sent["body"]) == {"title": "Ä"} and sent["type"] == "application/json"
    query = client.request("GET", "/q", params={"a": "1 2", "skip": None}).json()
    assert query["path"] == "/q?a=1+2"
    assert form.encoding == "utf-8" and form.headers["content-type"].startswith("application")


def test_a_compressed_answer_is_asked_for_and_decoded(echo: _Server) -> None:
    got = HttpClient(echo.url).request("GET", "/gz")
    assert got.headers["Content-Encoding"] == "gzip" and got.json()["path"] == "/gz"


def test_a_read_follows_a_redirect_on_its_host_but_never_to_another(echo: _Server) -> None:
    client = HttpClient(echo.url, ("admin", "pw"))
    landed = client.request("GET", "/away")
    assert landed.status_code == 200 and landed.json()["path"] == "/landed"
    assert landed.json()["auth"] is not None
    elsewhere = client.request("GET", "/away?to=http://localhost:9/elsewhere")
    assert elsewhere.status_code == 302  # the credentials stay with the host they are for
    assert client.request("POST", "/away").status_code == 302  # a write is not re-sent


class _Proxy(BaseHTTPRequestHandler):
    """A forward proxy: absolute-URL requests for plain HTTP, CONNECT tunnels for HTTPS."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def do_GET(self) -> None:
        self.server.asked.append(f"GET {self.path}")
        with socket.create_connection(self._origin_of_url(), timeout=10) as upstream:
            path = "/" + self.path.split("/", 3)[3]
            head = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            for name in ("Authorization",):
                if self.headers.get(name):
                    head += f"{name}: {self.headers[name]}\r\n"
            upstream.sendall((head + "\r\n").encode())
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        self.wfile.write(answer)
        self.close_connection = True

    def _origin_of_url(self) -> tuple[str, int]:
        host, _, port = self.path.split("/")[2].partition(":")
        return host, int(port or 80)

    def do_CONNECT(self) -> None:
        self.server.asked.append(f"CONNECT {self.path} {self.headers.get('Proxy-Authorization')}")
        host, _, port = self.path.partition(":")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        while True:
            ready, _, _ = select.select(sockets, [], [], 10)
            if not ready:
                break
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    upstream.close()
                    self.close_connection = True
                    return
                (upstream if sock is self.connection else self.connection).sendall(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.asked: list[str] = []


@pytest.fixture
def proxy() -> Iterator[_ProxyServer]:
    yield from _serving(_ProxyServer())


def test_a_plain_http_proxy_from_the_environment_is_used_unless_no_proxy_names_the_host(
    echo: _Server, proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    got = HttpClient(echo.url, ("admin", "pw")).request("GET", "/via")
    assert got.json()["path"] == "/via" and got.json()["auth"] is not None
    assert proxy.asked == [f"GET {echo.url}/via"]
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert HttpClient(echo.url).request("GET", "/direct").json()["path"] == "/direct"
    assert len(proxy.asked) == 1


@pytest.fixture(scope="module")
def tls_echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, certificate) of the echo server behind TLS (self-signed)."""
    folder = tmp_path_factory.mktemp("wire-tls")
    cert, key = self_signed(folder)
    server = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for running in _serving(server):
        yield f"https://127.0.0.1:{running.server_address[1]}", cert


def test_https_goes_through_a_connect_tunnel_and_is_still_verified(
    tls_echo: tuple[str, Path], proxy: _ProxyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cert = tls_echo
    monkeypatch.setenv("HTTPS_PROXY", f"http://ich:pa%40ss@127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    client = HttpClient(base, ("admin", "pw"))
    assert client.request("GET", "/tunnel").json()["path"] == "/tunnel"
    assert client.request("GET", "/again").json()["path"] == "/again"  # the same tunnel
    host = base.removeprefix("https://")
    assert proxy.asked == [f"CONNECT {host} Basic aWNoOnBhQHNz"]
