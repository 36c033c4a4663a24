"""An in-process HTTP double of Nextcloud 29 + Deck 1.13.10 (REST API v1.0 and OCS comments).

It reproduces the recorded exchanges in ``tests/fixtures/nextcloud29-deck1.13/`` exactly:
status codes, headers (``ETag``, ``Content-Type``), JSON shapes and Deck's quirks. The rules
live in :mod:`.deck_state` and :mod:`.deck_model`; this module speaks HTTP (standard library
only) and offers the test hooks::

    with DeckServer(users={"admin": "pw", "bob": "pw2"}, groups={"beirat": ["bob"]}) as srv:
        requests.get(f"{srv.url}/index.php/apps/deck/api/v1.0/boards",
                     auth=("admin", "pw"), headers={"OCS-APIRequest": "true"})
        srv.requests             # [("GET", "/index.php/apps/deck/api/v1.0/boards")]
        srv.clock = lambda: 1_800_000_000        # freeze time (same-second ETags)
        srv.fail_next("GET", r"/boards$", 503, headers={"Retry-After": "2"})

From a shell (prints its URL on one line, serves until SIGINT/SIGTERM)::

    python -m connector.testing.deck_server --port 8081 --user admin:secret \\
        --user bob:pw --group beirat:bob,carol --version 1.13
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from connector.testing.deck_model import DeckError, Json, Reply, internal_error
from connector.testing.deck_state import DeckState, as_int

log = logging.getLogger(__name__)

DECK_BASE = "/apps/deck/api/v1.0"
OCS_BASE = "/ocs/v2.php/apps/deck/api/v1.0"
CLOUD_PATHS = ("/ocs/v2.php/cloud/", "/ocs/v2.php/apps/files_sharing/")
JSON_CT = "application/json; charset=utf-8"
HTML_CT = "text/html; charset=UTF-8"
VERSIONS = ("1.13", "1.17")


@dataclass
class Call:
    """One routed request as the rules see it."""

    user: str
    ids: dict[str, int]
    body: dict[str, Any]
    query: dict[str, str]
    headers: Message
    version: str

    def __getitem__(self, name: str) -> int:
        return self.ids[name]

    @property
    def details(self) -> bool:
        return self.query.get("details", "").lower() in ("true", "1")

    @property
    def since(self) -> int | None:
        """``If-Modified-Since``: 500 before Deck 1.17 (30, 31), a filter from 1.17 on."""
        value = (self.headers.get("If-Modified-Since") or "").strip()
        if not value:
            return None
        if self.version == "1.13":
            raise internal_error()  # sabre/http's Util class is missing in Nextcloud 29
        try:
            return int(parsedate_to_datetime(value).timestamp())
        except (TypeError, ValueError):
            raise DeckError(400, "Invalid If-Modified-Since header provided.") from None


Handler = Callable[[DeckState, Call], Reply]
_B = r"/boards/(?P<board>\d+)"
_S = _B + r"/stacks/(?P<stack>\d+)"
_C = _S + r"/cards/(?P<card>\d+)"
_L = _B + r"/labels/(?P<label>\d+)"
_A = _B + r"/acl/(?P<acl>\d+)"
DECK_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/boards", lambda s, c: s.list_boards(c.user, c.details, c.since)),
    ("POST", "/boards", lambda s, c: s.create_board(c.user, c.body)),
    ("GET", _B, lambda s, c: s.get_board(c.user, c["board"])),
    ("PUT", _B, lambda s, c: s.update_board(c.user, c["board"], c.body)),
    ("DELETE", _B, lambda s, c: s.delete_board(c.user, c["board"])),
    ("POST", _B + "/undo_delete", lambda s, c: s.undo_delete_board(c.user, c["board"])),
    ("POST", _B + "/acl", lambda s, c: s.add_acl(c.user, c["board"], c.body)),
    ("PUT", _A, lambda s, c: s.update_acl(c.user, c["board"], c["acl"], c.body)),
    ("DELETE", _A, lambda s, c: s.delete_acl(c.user, c["board"], c["acl"])),
    ("GET", _B + "/stacks", lambda s, c: s.list_stacks(c.user, c["board"], c.since)),
    ("POST", _B + "/stacks", lambda s, c: s.create_stack(c.user, c["board"], c.body)),
    ("GET", _B + "/stacks/archived", lambda s, c: s.list_archived_stacks(c.user, c["board"])),
    ("GET", _S, lambda s, c: s.get_stack(c.user, c["stack"])),
    ("PUT", _S, lambda s, c: s.update_stack(c.user, c["stack"], c.body)),
    ("DELETE", _S, lambda s, c: s.delete_stack(c.user, c["stack"])),
    ("POST", _B + "/labels", lambda s, c: s.create_label(c.user, c["board"], c.body)),
    ("GET", _L, lambda s, c: s.get_label(c.user, c["label"])),
    ("PUT", _L, lambda s, c: s.update_label(c.user, c["label"], c.body)),
    ("DELETE", _L, lambda s, c: s.delete_label(c.user, c["label"])),
    ("POST", _S + "/cards", lambda s, c: s.create_card(c.user, c["stack"], c.body)),
    ("GET", _C, lambda s, c: s.get_card(c.user, c["card"])),
    ("PUT", _C, lambda s, c: s.update_card(c.user, c["stack"], c["card"], c.body)),
    ("DELETE", _C, lambda s, c: s.delete_card(c.user, c["card"])),
    ("PUT", _C + "/reorder", lambda s, c: s.reorder_card(c.user, c["card"], c.body)),
    ("PUT", _C + "/assignLabel", lambda s, c: s.assign_label(c.user, c["card"], c.body)),
    ("PUT", _C + "/removeLabel", lambda s, c: s.remove_label(c.user, c["card"], c.body)),
    ("PUT", _C + "/assignUser", lambda s, c: s.assign_user(c.user, c["card"], c.body)),
    ("PUT", _C + "/unassignUser", lambda s, c: s.unassign_user(c.user, c["card"], c.body)),
]
_COMMENTS = r"/cards/(?P<card>\d+)/comments"
OCS_ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", _COMMENTS, lambda s, c: s.create_comment(c.user, c["card"], c.body)),
    (
        "GET",
        _COMMENTS,
        lambda s, c: s.list_comments(
            c.user, c["card"], as_int(c.query.get("limit", 20)), as_int(c.query.get("offset", 0))
        ),
    ),
]


def _compile(routes: list[tuple[str, str, Handler]]) -> list[tuple[str, re.Pattern[str], Handler]]:
    return [(method, re.compile(f"^{path}$"), handler) for method, path, handler in routes]


_DECK = _compile(DECK_ROUTES)
_OCS = _compile(OCS_ROUTES)


def _route(
    routes: list[tuple[str, re.Pattern[str], Handler]], method: str, path: str
) -> tuple[Handler, re.Match[str]] | None:
    for verb, pattern, handler in routes:
        match = pattern.match(path)
        if match and verb == method:
            return handler, match
    return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = HTML_CT
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Json, headers: Mapping[str, str] | None = None) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, payload, JSON_CT, dict(headers or {}))


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    response: Response
    remaining: int


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


class DeckServer:
    """A running (once started) Nextcloud + Deck double on ``127.0.0.1``.

    ``users`` maps login to password (app password or login password, both work),
    ``groups`` maps group id to member logins, ``display_names`` overrides the display name
    (default: the login). ``version`` "1.13" answers any ``If-Modified-Since`` with 500,
    "1.17" filters by it. ``clock`` returns unix seconds; replace it any time via
    :attr:`clock`. Like the real server, a request without ``OCS-APIRequest: true`` is
    served; with ``require_ocs_header`` it is refused with 412 "CSRF check failed" (so a
    test can prove a client sends the header).
    """

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        groups: Mapping[str, Iterable[str]] | None = None,
        version: str = "1.13",
        *,
        display_names: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        require_ocs_header: bool = False,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
        self.version = version
        self.state = DeckState(
            users if users is not None else {"admin": "admin"},
            groups or {},
            display_names or {},
            version,
            clock or time.time,
        )
        self.host, self.port = host, port
        self.require_ocs_header = require_ocs_header
        self.requests: list[tuple[str, str]] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("DeckServer is not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def start(self) -> DeckServer:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.double = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> DeckServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- test hooks ---

    @property
    def clock(self) -> Callable[[], float]:
        return self.state.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.state.clock = clock

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Json | str | bytes = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of serving them.

        ``method`` "*" matches any; ``path_regex`` is searched in the path with its query.
        ``body`` None gives ``{"status": N, "message": <reason>}`` as JSON, a dict or list is
        sent as JSON, ``str``/``bytes`` as given (text/plain unless ``headers`` sets a
        Content-Type). ``headers`` are added, e.g. ``{"Retry-After": "3"}``. Injected answers
        change no state.
        """
        extra = dict(headers or {})
        content_type = extra.pop("Content-Type", None)
        if body is None or isinstance(body, dict | list):
            payload = body if body is not None else {"status": status, "message": _phrase(status)}
            response = json_response(status, payload, extra)
        else:
            raw = body.encode() if isinstance(body, str) else body
            response = Response(status, raw, "text/plain; charset=utf-8", extra)
        if content_type is not None:
            response.content_type = content_type
        with self._lock:
            self._failures.append(_Failure(method.upper(), re.compile(path_regex), response, times))

    # --- request handling ---

    def handle(self, method: str, raw_path: str, headers: Message, payload: bytes) -> Response:
        """Serve one request (called by the HTTP handler thread)."""
        with self._lock:
            self.requests.append((method, raw_path))
            for failure in self._failures:
                if failure.method in ("*", method) and failure.pattern.search(raw_path):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure.response
        try:
            return self._serve(method, raw_path, headers, payload)
        except Exception:
            log.exception("deck double failed on %s %s", method, raw_path)
            return json_response(500, internal_error().body)

    def _serve(self, method: str, raw_path: str, headers: Message, payload: bytes) -> Response:
        split = urlsplit(raw_path)
        path = split.path.removeprefix("/index.php")
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if split.path.startswith(CLOUD_PATHS):
            return self._cloud(method, split.path.removeprefix("/ocs/v2.php"), query, headers)
        is_ocs = split.path.startswith(OCS_BASE)
        if is_ocs:
            rel, routes = split.path[len(OCS_BASE) :], _OCS
        elif path.startswith(DECK_BASE + "/"):
            rel, routes = path[len(DECK_BASE) :], _DECK
        else:
            return Response(404)
        route_method = "GET" if method == "HEAD" else method
        if route_method == "OPTIONS" and not is_ocs:
            return Response(200, headers=_CORS)  # Deck's preflighted_cors route
        accept_json = "json" in (headers.get("Accept") or "") or query.get("format") == "json"
        user, problem = self._authenticate(headers.get("Authorization"))
        if user is None:
            if is_ocs:
                return ocs_response(401, [], "Current user is not logged in", accept_json)
            return json_response(401, {"message": problem})
        if self.require_ocs_header and (headers.get("OCS-APIRequest") or "").lower() != "true":
            return json_response(412, {"message": "CSRF check failed"})
        found = _route(routes, route_method, rel)
        if found is None:
            if is_ocs:
                return ocs_response(404, [], "Not found", accept_json)  # not recorded
            return Response(405)  # only Deck's OPTIONS catch-all route matched (27, 29)
        handler, match = found
        call = Call(
            user,
            {k: int(v) for k, v in match.groupdict().items()},
            {**query, **_json_object(payload)},
            query,
            headers,
            self.version,
        )
        with self.state.lock:
            self.state.first_run(user)
            try:
                reply = handler(self.state, call)
            except DeckError as error:
                if is_ocs:
                    return ocs_response(error.status, [], error.message, accept_json)
                return json_response(error.status, error.body)
        if is_ocs:
            return ocs_response(reply.status, reply.body, "OK", accept_json)
        extra = {} if reply.etag is None else {"ETag": f'"{reply.etag}"'}
        match_tag = (headers.get("If-None-Match") or "").strip().strip('"')
        if reply.etag is not None and match_tag == reply.etag:
            return Response(304, b"", JSON_CT, extra)  # (14, 14d)
        return json_response(reply.status, reply.body, extra)

    def _cloud(self, method: str, rel: str, query: dict[str, str], headers: Message) -> Response:
        """The slice of OCS the adapter reads to check shares (not recorded; as probed on the
        real server): group search and user lookup need an admin ("admin" here), the
        sharing search answers everyone with exact matches."""
        user, _ = self._authenticate(headers.get("Authorization"))
        if user is None:
            return ocs_response(401, [], "Current user is not logged in", True)
        search = query.get("search", "")
        with self.state.lock:
            users, groups = set(self.state.passwords), set(self.state.groups)
        if method == "GET" and rel == "/cloud/groups":
            if user != "admin":
                return ocs_response(403, [], "Logged in account must be at least a sub admin", True)
            return ocs_response(
                200, {"groups": sorted(g for g in groups if search in g)}, "OK", True
            )
        if method == "GET" and rel.startswith("/cloud/groups/"):
            if user != "admin":
                return ocs_response(403, [], "Logged in account must be a subadmin", True)
            name = unquote(rel.removeprefix("/cloud/groups/"))
            if name not in groups:
                return ocs_response(404, [], "The requested group could not be found", True)
            with self.state.lock:
                members = list(self.state.groups[name])
            return ocs_response(200, {"users": members}, "OK", True)
        if method == "GET" and rel.startswith("/cloud/users/"):
            uid = unquote(rel.removeprefix("/cloud/users/"))
            if uid not in users:
                return ocs_response(404, [], "User does not exist", True)
            if user not in ("admin", uid):
                meta = {"status": "failure", "statuscode": 998, "message": ""}
                return json_response(404, {"ocs": {"meta": meta, "data": []}})
            return ocs_response(200, {"id": uid, "enabled": True}, "OK", True)
        if method == "GET" and rel == "/apps/files_sharing/api/v1/sharees":
            kind = query.get("shareType[]", "0")
            names = groups if kind == "1" else users
            key = "groups" if kind == "1" else "users"
            entry: dict[str, Any] = {"label": search}
            if kind != "1":
                entry.update(subline="", icon="icon-user")
            entry["value"] = {"shareType": int(kind), "shareWith": search}
            if kind != "1":
                entry.update(shareWithDisplayNameUnique=search, status=[])
            kinds = ("users", "groups", "remotes", "remote_groups", "emails", "circles", "rooms")
            exact: dict[str, Any] = {name: [] for name in kinds}
            exact[key] = [entry] if search in names else []
            data = {"exact": exact, **{name: [] for name in kinds}}
            return ocs_response(200, {**data, "lookup": [], "lookupEnabled": False}, "OK", True)
        return ocs_response(404, [], "Not found", True)

    def _authenticate(self, authorization: str | None) -> tuple[str | None, str]:
        """HTTP basic auth: a wrong password gives 401 ``{"message": ""}`` (36)."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None, "CORS requires basic auth"
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, ""
        login, _, password = decoded.partition(":")
        with self.state.lock:
            return (login, "") if self.state.authenticate(login, password) else (None, "")


_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "PUT, POST, GET, DELETE, PATCH",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, OCS-APIRequest",
    "Access-Control-Max-Age": "1728000",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_object(payload: bytes) -> dict[str, Any]:
    """Request parameters from a JSON body; anything else gives none, as in Nextcloud."""
    if not payload.strip():
        return {}
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""
    # Headers and body are written separately; with Nagle on, a kept-alive connection
    # waits ~40 ms for the delayed ACK on every request.
    disable_nagle_algorithm = True

    def date_time_string(self, timestamp: float | None = None) -> str:
        """``Date`` from the double's clock: a real server stamps ``Date`` and
        ``lastModified`` from one clock, and adapters compare the two."""
        double = cast(DeckServer, self.server.double)  # type: ignore[attr-defined]
        return formatdate(double.clock() if timestamp is None else timestamp, usegmt=True)

    def _serve(self, method: str) -> None:
        double = cast(DeckServer, self.server.double)  # type: ignore[attr-defined]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connector.testing.deck_server",
        description="Serve a Nextcloud 29 + Deck double until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--user", action="append", required=True, metavar="LOGIN:PASSWORD[:DISPLAY NAME]"
    )
    parser.add_argument("--group", action="append", default=[], metavar="GID:LOGIN,LOGIN")
    parser.add_argument("--version", choices=VERSIONS, default="1.13")
    args = parser.parse_args(argv)
    users: dict[str, str] = {}
    names: dict[str, str] = {}
    for spec in args.user:
        login, sep, rest = spec.partition(":")
        if not login or not sep:
            parser.error(f"--user needs LOGIN:PASSWORD, got {spec!r}")
        users[login], _, name = rest.partition(":")
        if name:
            names[login] = name
    groups: dict[str, list[str]] = {}
    for spec in args.group:
        gid, _, members = spec.partition(":")
        groups[gid] = [m for m in members.split(",") if m]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = DeckServer(
        users, groups, args.version, display_names=names, host=args.host, port=args.port
    )
    with server:
        print(server.url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
