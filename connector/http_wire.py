"""HTTP/1.1 on the standard library: kept-alive connections, TLS, proxies, redirects.

:class:`connector.http.HttpClient` sends through a :class:`Wire`. It does what the adapters
need from an HTTP library and nothing more: one kept-alive connection per origin (a
connection the server closed while idle is replaced before it is used), TLS verified against
the system's trust store (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` or ``SSL_CERT_FILE``
name another bundle; where the system has none, certifi's), the ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``NO_PROXY`` variables, and redirects of reading requests within the same
host. Importing ``requests`` instead (urllib3, charset detection, IDNA tables) costs every
command ~90 ms of start-up, a sixth of a quiet pass.
"""

from __future__ import annotations

import base64
import http.client
import json as jsonlib
import os
import select
import ssl
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit

from connector.i18n import _

#: Connection failures: no connection, a connection lost, no answer in time.
WireError = (OSError, http.client.HTTPException)
#: Compressed answers the wire decodes (as requests did: large rosters and listings travel
#: a tenth of their size over a slow link).
ACCEPT_ENCODING = "gzip, deflate"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FOLLOWED = frozenset({"GET", "HEAD", "PROPFIND", "REPORT", "OPTIONS"})


class Headers(dict[str, str]):
    """Response headers; names compare case-insensitively (the last of repeated ones wins,
    except ``Set-Cookie``-like lists, which the adapters do not read)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        for name, value in pairs:
            super().__setitem__(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class Response:
    """A complete answer: status, headers and body (read in full before it is returned)."""

    def __init__(self, url: str, status: int, reason: str, headers: Headers, body: bytes) -> None:
        self.url = url
        self.status_code = status
        self.reason = reason
        self.headers = headers
        self.content = body

    @property
    def encoding(self) -> str:
        """The charset the ``Content-Type`` names, else UTF-8."""
        content_type: str = self.headers.get("Content-Type", "")
        for part in content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    @property
    def text(self) -> str:
        """The body as text (undecodable bytes replaced)."""
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON (``ValueError`` when it is none)."""
        return jsonlib.loads(self.content)


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def encode(
    *, data: Any = None, json: Any = None, params: Mapping[str, Any] | None = None
) -> tuple[str, bytes | None, str | None]:
    """(query string, body, its Content-Type) as ``requests`` would send them: a mapping as
    ``data`` is form-encoded (a list value repeats its key), bytes are sent as they are."""
    query = urlencode(_pairs(params), doseq=True) if params else ""
    if json is not None:
        return query, jsonlib.dumps(json).encode(), "application/json"
    if isinstance(data, Mapping):
        return (
            query,
            urlencode(_pairs(data), doseq=True).encode(),
            ("application/x-www-form-urlencoded"),
        )
    if isinstance(data, str):
        return query, data.encode(), None
    return query, data, None


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in values.items() if v is not None]


def _proxy(scheme: str, host: str) -> str | None:
    """The proxy URL the environment names for ``scheme``://``host``, if any."""
    skip = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    for entry in (e.strip().lstrip(".").lower() for e in skip.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def tls_context(verify: bool) -> ssl.SSLContext:
    """The TLS settings: verified against the trust store, or (``verify`` false) not at all."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    context = ssl.create_default_context(cafile=bundle or None)
    if not bundle and not context.cert_store_stats().get("x509_ca"):
        try:  # a system without a trust store (a slim container): certifi's, like requests
            import certifi

            context.load_verify_locations(certifi.where())
        except (ImportError, OSError):
            pass
    return context


class Wire:
    """Sends requests over kept-alive connections, one per origin; not thread-safe (a client
    sending from two threads uses two wires)."""

    def __init__(self, *, verify: bool = True, timeout: float = 30.0) -> None:
        self.verify = verify
        self.timeout = timeout
        self._tls: ssl.SSLContext | None = None
        self._open: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """Send one request, following redirects of reading requests on the same host."""
        for _hop in range(6):
            response = self._once(method, url, headers, body)
            target = response.headers.get("Location")
            if response.status_code not in REDIRECTS or method not in _FOLLOWED or not target:
                return response
            following = urljoin(url, target)
            if urlsplit(following).hostname != urlsplit(url).hostname:
                return response  # never hand the credentials to another host
            url = following
        return response

    def _once(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        key = (scheme, host, port)
        if scheme == "http" and _proxy(scheme, host) is not None:
            target = url  # a plain-HTTP proxy is asked for the absolute URL
        connection = self._open.pop(key, None)
        reused = connection is not None and not _dropped(connection)
        if connection is None or not reused:
            if connection is not None:
                connection.close()
            connection = self._connect(scheme, host, port)
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            answer = connection.getresponse()
            content = answer.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            connection.close()
            if not reused:
                raise
            # The server closed the kept-alive connection as the request went out: the request
            # was not read, so it is sent once more on a new connection.
            return self._once(method, url, headers, body)
        except BaseException:
            connection.close()
            raise
        if answer.will_close:
            connection.close()
        else:
            self._open[key] = connection
        headers = Headers(answer.getheaders())
        return Response(url, answer.status, answer.reason, headers, _decoded(headers, content))

    def _connect(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        """A new connection to the origin, through the proxy the environment names."""
        proxy = _proxy(scheme, host)
        if scheme == "https":
            if self._tls is None:
                self._tls = tls_context(self.verify)
            if proxy is None:
                return http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self._tls
                )
            via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            connection = http.client.HTTPSConnection(
                via.hostname or "", via.port or 8080, timeout=self.timeout, context=self._tls
            )
            connection.set_tunnel(host, port, headers=_proxy_auth(via.username, via.password))
            return connection
        if proxy is None:
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return http.client.HTTPConnection(
            via.hostname or "", via.port or 8080, timeout=self.timeout
        )

    def adopt(self, other: Wire) -> None:
        """Take over ``other``'s kept-alive connections to origins this wire has none to."""
        for key, connection in other._open.items():
            if key in self._open:
                connection.close()
            else:
                self._open[key] = connection
        other._open.clear()

    def close(self) -> None:
        """Close every kept-alive connection."""
        for connection in self._open.values():
            connection.close()
        self._open.clear()


def _decoded(headers: Headers, content: bytes) -> bytes:
    """The body without the transfer compression the server applied (``ACCEPT_ENCODING``)."""
    coding = headers.get("Content-Encoding", "").strip().lower()
    if not content or coding in ("", "identity"):
        return content
    if coding == "gzip":
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if coding == "deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:  # some servers send deflate without its zlib header
            return zlib.decompress(content, -zlib.MAX_WBITS)
    raise http.client.HTTPException(
        _("unsupported Content-Encoding {coding!r}").format(coding=coding)
    )


def _proxy_auth(user: str | None, password: str | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"Proxy-Authorization": basic_auth(unquote(user), unquote(password or ""))}


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether a kept-alive connection was closed (or sent something unasked) while idle."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
