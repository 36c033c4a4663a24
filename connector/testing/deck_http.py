"""The wire side of the Nextcloud Deck test double: answers as bytes (JSON, the OCS
envelope in JSON or XML) and the request handler of its HTTP server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol, cast
from xml.sax.saxutils import escape

from connector.testing.deck_entities import Json

log = logging.getLogger(__name__)

JSON_CT = "application/json; charset=utf-8"
HTML_CT = "text/html; charset=UTF-8"


class Double(Protocol):
    """What the handler needs of the server behind it (:class:`.deck_server.DeckServer`)."""

    @property
    def clock(self) -> Any: ...

    def handle(self, method: str, raw_path: str, headers: Message, payload: bytes) -> Response: ...


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = HTML_CT
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Json, headers: Mapping[str, str] | None = None) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, payload, JSON_CT, dict(headers or {}))


def _xml(value: Json, depth: int = 1) -> str:
    pad = " " * depth
    items: Iterable[tuple[str, Json]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = (("element", item) for item in value)
    elif value is None or value is False:
        return ""
    else:
        return "1" if value is True else escape(str(value))
    inner = "".join(f"\n{pad}<{k}>{_xml(v, depth + 1)}</{k}>" for k, v in items)
    return f"{inner}\n{' ' * (depth - 1)}" if inner else ""


def ocs_response(status: int, data: Json, message: str, accept_json: bool) -> Response:
    """OCS v2 envelope; the HTTP status mirrors ``statuscode`` (37, 38)."""
    ok = status < 300
    meta = {"status": "ok" if ok else "failure", "statuscode": status, "message": message}
    envelope = {"ocs": {"meta": meta, "data": data if data is not None else []}}
    if accept_json:
        return json_response(status, envelope)
    xml = f'<?xml version="1.0"?>\n<ocs>{_xml(envelope["ocs"])}</ocs>\n'
    return Response(status, xml.encode(), "application/xml; charset=utf-8")


CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "PUT, POST, GET, DELETE, PATCH",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, OCS-APIRequest",
    "Access-Control-Max-Age": "1728000",
}


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_object(payload: bytes) -> dict[str, Any]:
    """Request parameters from a JSON body; anything else gives none, as in Nextcloud."""
    if not payload.strip():
        return {}
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


class DeckHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    # Headers and body are written separately; with Nagle on, a kept-alive connection
    # waits ~40 ms for the delayed ACK on every request.
    disable_nagle_algorithm = True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` from the double's clock: a real server stamps ``Date`` and
        ``lastModified`` from one clock, and adapters compare the two."""
        double = cast(Double, self.server.double)  # type: ignore[attr-defined]
        return formatdate(double.clock() if timestamp is None else timestamp, usegmt=True)

    def _serve(self, method: str) -> None:
        double = cast(Double, self.server.double)  # type: ignore[attr-defined]
        response = double.handle(method, self.path, self.headers, self._read_body())
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)
