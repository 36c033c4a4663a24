"""An in-process HTTP double of Nextcloud 29 + Deck 1.13.10 (REST API v1.0 and OCS comments).

It reproduces the recorded exchanges in ``tests/fixtures/nextcloud29-deck1.13/`` exactly:
status codes, headers (``ETag``, ``Content-Type``), JSON shapes and Deck's quirks. The rules
live in :mod:`.deck_state` (with :mod:`.deck_card_state`, :mod:`.deck_rules`) on top of
:mod:`.deck_model` and :mod:`.deck_entities`; requests are routed by :mod:`.deck_routes` and
answered on the wire by :mod:`.deck_http`. This module runs the server (standard library
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
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from connector.testing.deck_entities import DeckError, Json, internal_error
from connector.testing.deck_http import (
    CORS,
    JSON_CT,
    DeckHandler,
    Response,
    json_object,
    json_response,
    ocs_response,
    phrase,
)
from connector.testing.deck_routes import DECK, OCS, Call, route
from connector.testing.deck_state import DeckState

log = logging.getLogger(__name__)

DECK_BASE = "/apps/deck/api/v1.0"
OCS_BASE = "/ocs/v2.php/apps/deck/api/v1.0"
CLOUD_PATHS = ("/ocs/v2.php/cloud/", "/ocs/v2.php/apps/files_sharing/")
VERSIONS = ("1.13", "1.17")


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    response: Response
    remaining: int


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
        httpd = ThreadingHTTPServer((self.host, self.port), DeckHandler)
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
            payload = body if body is not None else {"status": status, "message": phrase(status)}
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
            rel, routes = split.path[len(OCS_BASE) :], OCS
        elif path.startswith(DECK_BASE + "/"):
            rel, routes = path[len(DECK_BASE) :], DECK
        else:
            return Response(404)
        route_method = "GET" if method == "HEAD" else method
        if route_method == "OPTIONS" and not is_ocs:
            return Response(200, headers=CORS)  # Deck's preflighted_cors route
        accept_json = "json" in (headers.get("Accept") or "") or query.get("format") == "json"
        user, problem = self._authenticate(headers.get("Authorization"))
        if user is None:
            if is_ocs:
                return ocs_response(401, [], "Current user is not logged in", accept_json)
            return json_response(401, {"message": problem})
        if self.require_ocs_header and (headers.get("OCS-APIRequest") or "").lower() != "true":
            return json_response(412, {"message": "CSRF check failed"})
        found = route(routes, route_method, rel)
        if found is None:
            if is_ocs:
                return ocs_response(404, [], "Not found", accept_json)  # not recorded
            return Response(405)  # only Deck's OPTIONS catch-all route matched (27, 29)
        handler, match = found
        call = Call(
            user,
            {k: int(v) for k, v in match.groupdict().items()},
            {**query, **json_object(payload)},
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
