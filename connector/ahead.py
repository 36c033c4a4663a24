"""Reading requests sent ahead of the pass that needs them, and the record of what a pass sent.

A pass starts by asking each collection what changed since its cursor: a sync-collection
REPORT, a roster or board GET. The server takes 100-200 ms to answer, about as long as the
command takes to load its code. So the console script sends the requests the previous run of
the same command started with, each collection's on its own thread, and then loads the CLI;
:class:`connector.http.HttpClient` answers the first request of the pass that is identical to
one sent ahead (method, URL, every header, the credentials included, and body) with the answer
that came back. Any other request goes out as usual. What the pass does with the answer is
unchanged: it is the answer it would have got a few hundred milliseconds later.

This module is the HTTP side: :func:`send` (threads), :func:`take` (the client asks) and the
recording of a pass's first requests (:func:`recording`, :func:`note`, :func:`recorded`).
Which requests a command sends ahead, and when not, is :mod:`sync.opening`'s business.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from connector.http_wire import Response, Wire

#: Methods that change nothing on the server: the only ones ever sent ahead.
READING = frozenset({"GET", "PROPFIND", "REPORT"})
#: An answer older than this is not used (the pass waited for the store's lock meanwhile).
MAX_AGE = 20.0
#: Requests of one collection's opening that are recorded (in the order sent).
MAX_PER_KEY = 4
#: Connections to one server that requests sent ahead use at once (a pass reads its
#: collections one after the other; a mapping with many lists should not open dozens).
PER_SERVER = 4

#: Header names that may carry a credential (``Authorization`` is left out of a record; the
#: password is read from its variable again when the request is sent ahead).
_SECRETIVE = re.compile(r"cookie|token|secret|key|auth|session|password", re.IGNORECASE)

Request = tuple[str, str, tuple[tuple[str, str], ...], bytes | None]


def request_key(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Request:
    """What makes two requests the same: method, URL, headers (names case-folded) and body."""
    pairs = tuple(sorted((name.lower(), value) for name, value in headers.items()))
    return method, url, pairs, body


class _Ahead:
    """One collection's requests, sent in order on one thread over one connection."""

    def __init__(
        self, key: str, guard: str, requests: list[Request], verify: bool, timeout: float
    ) -> None:
        self.key, self.guard = key, guard
        self.requests = requests
        self.wire = Wire(verify=verify, timeout=timeout)
        self.answers: dict[Request, tuple[float, Response]] = {}
        self.taken: set[Request] = set()
        self.done = False
        self.arrived = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=f"ahead {key}", daemon=True)

    def _run(self) -> None:
        try:
            with _slots(self.requests[0][1]):
                for request in self.requests:
                    method, url, pairs, body = request
                    answer = self.wire.send(method, url, dict(pairs), body)
                    with self.arrived:
                        self.answers[request] = (time.monotonic(), answer)
                        self.arrived.notify_all()
        except BaseException:  # the pass sends it again itself, and reports what fails
            pass
        finally:
            with self.arrived:
                self.done = True
                self.arrived.notify_all()

    def answer(self, request: Request) -> Response | None:
        """The answer to ``request`` once it is in (None if it failed or is too old)."""
        with self.arrived:
            self.arrived.wait_for(
                lambda: request in self.answers or self.done, self.wire.timeout + 1
            )
            answered = self.answers.get(request)
        if answered is None or time.monotonic() - answered[0] > MAX_AGE:
            return None
        return answered[1]


_sent: list[_Ahead] = []
_lock = threading.Lock()
_servers: dict[str, threading.BoundedSemaphore] = {}


def _slots(url: str) -> threading.BoundedSemaphore:
    """The connections to ``url``'s server that requests sent ahead may use at once."""
    origin = urlsplit(url).netloc
    with _lock:
        return _servers.setdefault(origin, threading.BoundedSemaphore(PER_SERVER))


def send(key: str, requests: list[Request], *, guard: str, verify: bool, timeout: float) -> None:
    """Start sending ``requests`` (reading ones only) for collection ``key``, recorded when
    its cursor was ``guard``, on a thread."""
    if not requests or any(request[0] not in READING for request in requests):
        return
    ahead = _Ahead(key, guard, requests, verify, timeout)
    with _lock:
        _sent.append(ahead)
    ahead.thread.start()


def take(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, wire: Wire
) -> Response | None:
    """The answer to this request if it was sent ahead (once; waiting for it if it is on its
    way); the connection it came over is handed to ``wire`` when its thread is done."""
    if not _sent:
        return None
    request = request_key(method, url, headers, body)
    with _lock:
        found = next((a for a in _sent if request in a.requests and request not in a.taken), None)
        if found is None:
            return None
        found.taken.add(request)
    answer = found.answer(request)
    if found.done:
        wire.adopt(found.wire)
    return answer


def missed() -> set[str]:
    """Keys of collections whose first request was sent ahead and not asked for, although
    the pass read them from the cursor it was recorded with: their requests depend on more
    than the cursor. (Another pass that moved the cursor meanwhile is no such case.)"""
    with _lock:
        return {
            a.key
            for a in _sent
            if a.requests[0] not in a.taken and a.guard in _read_from.get(a.key, ())
        }


# -- the record of a pass's opening requests ----------------------------------------------

_enabled = False
_current: dict[str, Any] | None = None
_recorded: dict[str, dict[str, Any]] = {}
#: Per collection key, the cursors (their guards) it was read from in this process.
_read_from: dict[str, set[str]] = {}


def enable() -> None:
    """Record the opening requests of collections from now on (the console script does)."""
    global _enabled
    _enabled = True


def reset() -> None:
    """Forget what was sent ahead and recorded (a new command in the same process)."""
    global _enabled, _current
    with _lock:
        _sent.clear()
    _recorded.clear()
    _read_from.clear()
    _enabled, _current = False, None


@contextmanager
def recording(key: str, guard: str, secret_env: str | None, *, allowed: bool) -> Iterator[None]:
    """While a collection's changes are read: note the requests it opens with.

    ``guard`` is what must still hold for them to be sent again (a digest of the stored
    cursor); ``secret_env`` the environment variable the password comes from. Not
    ``allowed`` (a password from a command): nothing is noted, and the key is forgotten.
    """
    global _current
    if not _enabled:
        yield
        return
    _recorded.pop(key, None)
    _read_from.setdefault(key, set()).add(guard)
    previous = _current
    _current = {"key": key, "guard": guard, "env": secret_env, "requests": [], "ok": allowed}
    try:
        yield
    finally:
        entry, _current = _current, previous
        if entry["ok"] and entry["requests"]:
            _recorded[key] = entry


def note(
    channel: object,
    auth: tuple[str, str] | None,
    verify: bool,
    timeout: float,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> None:
    """A request the client ``channel`` is sending; kept if a collection is being read.

    Each client is one channel: what a pass sends side by side (Mailman's slow query on a
    second connection) is sent ahead side by side, what it sends in turn, in turn."""
    entry = _current
    if entry is None or not entry["ok"]:
        return
    if method not in READING or len(entry["requests"]) >= MAX_PER_KEY:
        entry["ok"] = entry["ok"] and method in READING
        return
    if entry.setdefault("client", (auth[0] if auth else None, verify, timeout)) != (
        auth[0] if auth else None,
        verify,
        timeout,
    ):
        entry["ok"] = False  # clients with other settings in one opening: not worth it
        return
    kept = {name: value for name, value in headers.items() if name.lower() != "authorization"}
    if any(_SECRETIVE.search(name) for name in kept) or "@" in urlsplit(url).netloc:
        entry["ok"] = False  # a credential beside the password: it is not written down
        return
    channels: dict[int, int] = entry.setdefault("channels", {})
    number = channels.setdefault(id(channel), len(channels))
    entry["requests"].append((number, method, url, kept, body))


def recorded() -> dict[str, dict[str, Any]]:
    """Per collection key: its guard, secret variable, client settings and first requests."""
    return dict(_recorded)
