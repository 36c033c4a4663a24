"""One face for the two Decks the tests run against: the double and the real Nextcloud.

A test written against a :class:`Site` asks it for ids by title, counts the requests the
server saw, and lets time pass (:meth:`Site.tick`): the double's clock moves a second; on the
real server the test waits for the next second, since Deck's ETags change once per second.
The real server is shared by a whole session, so a site on it first deletes the boards the
writer owns (deleted boards are invisible to the adapter), and keeps the brute-force
protection reset after a test that sent a wrong password.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import pytest
import requests

from connector.testing.deck_server import DeckServer
from connector.testing.nextcloud_server import NextcloudInstance

API = "/index.php/apps/deck/api/v1.0"
REAL = pytest.param("real", marks=pytest.mark.real_nextcloud, id="real")
DOUBLE = pytest.param("double", id="double")
BOTH = [DOUBLE, REAL]


class Clock(Protocol):
    now: int

    def tick(self, seconds: int = 1) -> None: ...


class Site:
    """A Deck server as tests use it."""

    real: bool
    url: str
    writer = "admin"

    def password(self, user: str) -> str:
        raise NotImplementedError

    def tick(self) -> None:
        raise NotImplementedError

    def reset_requests(self) -> None:
        raise NotImplementedError

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request since :meth:`reset_requests`."""
        raise NotImplementedError

    def now(self) -> int:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        """What the adapter may use to wait."""
        raise NotImplementedError

    # -- reading through the API (the same on both) --

    def call(self, method: str, path: str, body: Any = None, user: str | None = None) -> Any:
        login = user or self.writer
        answer = requests.request(
            method,
            self.url + API + path,
            json=body,
            headers={"OCS-APIRequest": "true"},
            auth=(login, self.password(login)),
            timeout=60,
        )
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def board_id(self, title: str) -> int:
        boards = self.call("GET", "/boards")
        live = [b for b in boards if b["title"] == title and not b["deletedAt"]]
        owned = [b for b in live if b["owner"]["uid"] == self.writer] or live
        return int(min(b["id"] for b in owned))

    def board(self, title: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/boards/{self.board_id(title)}")
        return found

    def stack_id(self, board: str, title: str) -> int:
        return next(int(s["id"]) for s in self.board(board)["stacks"] if s["title"] == title)

    def stack_titles(self, board: str) -> list[str]:
        stacks = sorted(self.board(board)["stacks"], key=lambda s: (s["order"], s["id"]))
        return [s["title"] for s in stacks]

    def label_id(self, board: str, title: str) -> int:
        return next(int(lb["id"]) for lb in self.board(board)["labels"] if lb["title"] == title)

    def acl(self, board: str) -> list[tuple[int, str]]:
        return [(a["type"], a["participant"]["uid"]) for a in self.board(board)["acl"]]

    def card(self, board: int, card: int, user: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self.call(
            "GET", f"/boards/{board}/stacks/0/cards/{card}", user=user
        )
        return found


class DoubleSite(Site):
    real = False

    def __init__(self, server: DeckServer, clock: Clock) -> None:
        self.server, self.clock = server, clock
        self.url = server.url
        self.sleeps: list[float] = []

    def password(self, user: str) -> str:
        return self.server.state.passwords[user]

    def tick(self) -> None:
        self.clock.tick()

    def reset_requests(self) -> None:
        self.server.reset_requests()

    def requests(self) -> list[tuple[str, str]]:
        return list(self.server.requests)

    def now(self) -> int:
        return int(self.clock.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


class RealSite(Site):
    real = True

    def __init__(self, nc: NextcloudInstance) -> None:
        self.nc = nc
        self.url = nc.url
        self._mark = nc.mark()
        self.sleeps: list[float] = []

    def password(self, user: str) -> str:
        return self.nc.app_passwords[user]

    def tick(self) -> None:
        """Wait for the next second (and a little), as the double's clock would move."""
        now = time.time()
        time.sleep(int(now) + 1.05 - now)

    def reset_requests(self) -> None:
        self._mark = self.nc.mark()

    def requests(self) -> list[tuple[str, str]]:
        return [(m, p) for _, m, p in self.nc.requests_since(self._mark)]

    def now(self) -> int:
        return int(time.time())

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def clean(self) -> None:
        """Delete the writer's boards (all but "Personal") left by earlier tests."""
        for board in self.call("GET", "/boards"):
            mine = board["owner"]["uid"] == self.writer
            if mine and not board["deletedAt"] and board["title"] != "Personal":
                self.call("DELETE", f"/boards/{board['id']}")


class TickingClock:
    """A frozen clock for the double that a test moves a second at a time."""

    def __init__(self, now: int = 1_790_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: int = 1) -> None:
        self.now += seconds


def either_site(
    request: pytest.FixtureRequest,
    passwords: Mapping[str, str],
    groups: Mapping[str, Iterable[str]],
) -> Iterator[Site]:
    """For a fixture parametrized with :data:`BOTH`: a fresh double or the real server."""
    if request.param == "real":
        yield real_site(request)
        return
    clock = TickingClock()
    with DeckServer(passwords, groups, "1.13", clock=clock) as srv:
        yield DoubleSite(srv, clock)


def real_site(request: pytest.FixtureRequest) -> RealSite:
    """The session's real Nextcloud, cleaned for this test."""
    return clean_site(request.getfixturevalue("nextcloud"))


def clean_site(nc: NextcloudInstance) -> RealSite:
    """A site on ``nc`` without the boards earlier tests left."""
    site = RealSite(nc)
    site.clean()
    site.reset_requests()
    return site
