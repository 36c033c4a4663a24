"""TLS against a real HTTPS server on 127.0.0.1 with a self-signed certificate: verification
on by default, ``verify_tls = false`` honoured even with ``REQUESTS_CA_BUNDLE`` set, and
certificate failures explained in words (no "SSLError")."""

from __future__ import annotations

import logging
import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import pytest

from connector.errors import ConnectorError, TargetError
from connector.http import HttpClient
from tests.certs import self_signed


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, certificate file) of an HTTPS server with a self-signed certificate."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_verify_false_is_honoured_when_requests_ca_bundle_is_set(
    https: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    base, _cert = https
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        client = HttpClient(base, ("admin", "pw"), verify=False)
        assert client.request("GET", "/").json() == {"ok": True}
        assert client.request("GET", "/").json() == {"ok": True}
    said = [r.getMessage() for r in caplog.records if "not verified" in r.getMessage()]
    assert said == [
        f"TLS certificates of {base} are not verified (verify_tls = false): anyone on the "
        "network path can read and change what is sent, the password included"
    ]
    assert not [w for w in caught if "Unverified HTTPS request" in str(w.message)]


def test_an_untrusted_certificate_is_explained_not_retried(https: tuple[str, Path]) -> None:
    base, _cert = https
    client = HttpClient(base, ("admin", "pw"), sleep=lambda _s: None)
    with pytest.raises(TargetError) as caught:
        client.request("GET", "/")
    message = str(caught.value)
    assert message.startswith(f"TLS: the certificate of {base} cannot be verified")
    assert "self-signed" in message and "verify_tls = false" in message
    assert "SSLError" not in message and "SSL" not in message.replace("TLS", "")
    assert client.requests == 1
    assert isinstance(caught.value, ConnectorError) and caught.value.exit_code == 8


def test_requests_ca_bundle_is_the_trust_store_while_verifying(
    https: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cert = https
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert HttpClient(base, ("admin", "pw")).request("GET", "/").json() == {"ok": True}
