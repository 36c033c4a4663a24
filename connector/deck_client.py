"""Deck's HTTP conventions and the board list: the client, boards by title, ids by title.

:class:`DeckClient` sends every request through :class:`connector.http.HttpClient` under the
API base with ``OCS-APIRequest: true`` and turns answers into the adapter's errors;
:func:`list_boards` answers ``GET /boards`` once per pass (see :class:`ListMemo`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from connector.errors import (
    CredentialsError,
    Fatal,
    NotFound,
    RecordRejected,
    RetryLater,
    advising,
)
from connector.http import HttpClient
from connector.http_wire import Response
from connector.i18n import _

API = "/index.php/apps/deck/api/v1.0"
TITLE_MAX = 100
BOARD_COLOR = "0082c9"
LABEL_COLORS = ("31CC7C", "317CCC", "FF7A66", "F1DB50", "9C27B0", "795548", "607D8B")


def message_of(response: Response) -> str:
    """Deck's error message (``{"status", "message"}``), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or str(response.status_code)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text[:200]


def server_second(response: Response) -> int:
    """The server's clock (unix seconds) when it answered, from ``Date``; else ours."""
    value = response.headers.get("Date")
    if value:
        try:
            return int(parsedate_to_datetime(value).timestamp())
        except (TypeError, ValueError):
            pass
    return int(time.time())


class DeckClient:
    """Requests to one Nextcloud's Deck API as one user, counted and mapped to our errors."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        verify: bool,
        timeout: float,
        sleep: Callable[[float], None] | None,
        count: Callable[[int], None],
    ) -> None:
        options: dict[str, Any] = {
            "verify": verify,
            "timeout": timeout,
            "headers": {"OCS-APIRequest": "true"},
            "sleep": sleep,
        }
        self.user = user
        self.http = HttpClient(url, (user, password), **options)
        # Probes must not be retried: a 500 there is an answer, not an outage.
        self.once = HttpClient(url, (user, password), attempts=1, **options)
        self._count = count
        #: The board list as answered earlier in this pass (see :class:`ListMemo`); kept
        #: only while a pass runs (``passes``), never for calls outside the engine's passes.
        self.memo: ListMemo | None = None
        self.passes = False

    def keep(self, memo: ListMemo) -> None:
        """Remember a board-list answer for the rest of this pass (only inside passes)."""
        self.memo = memo if self.passes else None

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        once: bool = False,
    ) -> Response:
        """One request under the API base; 401 becomes a :class:`CredentialsError`."""
        client = self.once if once else self.http
        before = client.requests
        if method != "GET":
            self.memo = None  # our own write: the next poll must see it
        try:
            return client.request(method, API + path, json=body, headers=dict(headers or {}))
        except CredentialsError:
            raise self._refused(client.base_url) from None
        finally:
            self._count(client.requests - before)

    def _refused(self, url: str) -> CredentialsError:
        why = _(
            "Nextcloud at {url} refused user {user} (401): "
            "check the Deck app password for user {user}"
        )
        return advising(CredentialsError(why.format(url=url, user=self.user)))

    def ocs(self, path: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        """``GET /ocs/v2.php{path}``: (OCS status code, ``data``), counted like the rest."""
        before = self.http.requests
        try:
            response = self.http.request(
                "GET",
                "/ocs/v2.php" + path,
                params=dict(params),
                headers={"Accept": "application/json"},
            )
        except CredentialsError:
            raise self._refused(self.http.base_url) from None
        finally:
            self._count(self.http.requests - before)
        try:
            body = response.json()["ocs"]
            return int(body["meta"]["statuscode"]), body.get("data")
        except (ValueError, KeyError, TypeError):
            return response.status_code, None

    def data(self, response: Response, what: str, *, reads: bool = False) -> Any:
        """The JSON of a successful answer; otherwise the error that fits its status.

        A 400 or 500 on a write is Deck refusing that data (RecordRejected); a 500 on a
        read is the server's trouble (RetryLater).
        """
        status = response.status_code
        if 200 <= status < 300:
            return response.json() if response.content else None
        message = _("{what}: Deck answered {status} ({reason})").format(
            what=what, status=status, reason=message_of(response)
        )
        if status == 403:
            may_not = _("user {user} may not do this").format(user=self.user)
            raise NotFound(f"{message}; {may_not}")
        if status in (429, 502, 503, 504) or (reads and status == 500):
            raise RetryLater(message)
        if status in (400, 500):
            raise RecordRejected(message)
        raise Fatal(message)

    def close(self) -> None:
        """Close both sessions."""
        self.http.close()
        self.once.close()


@dataclass
class BoardRef:
    """A board as the adapter needs it: its id and the ids of stacks and labels by title."""

    id: int
    title: str
    stacks: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    def stack_title(self, stack_id: int) -> str | None:
        """The title of a stack of this board, None if unknown."""
        return next((t for t, i in self.stacks.items() if i == stack_id), None)

    def learn(self, board: Mapping[str, Any]) -> None:
        """Take stacks and labels from a board answer (``GET /boards/{b}`` shape)."""
        self.stacks = titles(board.get("stacks"))
        self.labels = titles(board.get("labels"))

    def learn_labels(self, cards: list[dict[str, Any]]) -> None:
        """Remember the labels cards carry (a listing shows no unused labels)."""
        for card in cards:
            for label in card.get("labels") or []:
                self.labels.setdefault(str(label["title"]), int(label["id"]))


def titles(items: Any) -> dict[str, int]:
    """Ids by title in board order; of two items with one title the first wins."""
    found: dict[str, int] = {}
    for item in sorted(items or [], key=lambda i: (i.get("order", 0), i["id"])):
        found.setdefault(str(item["title"]), int(item["id"]))
    return found


def no_access(client: DeckClient, title: str, board_id: int) -> NotFound:
    """The error for a board the user can no longer see."""
    return NotFound(
        _(
            "user {user} has no access to board {title!r} (id {id}) any more: "
            "share it with that user again, or reset the rule to start on a new board"
        ).format(user=client.user, title=title, id=board_id)
    )


@dataclass
class ListMemo:
    """What ``GET /boards`` answered earlier in this pass, so that the other rules of the
    same target need not ask again: the full list (``boards``, ``since`` None), the boards
    changed after ``since`` (``If-Modified-Since``), or "unchanged since ``etag``" (a 304,
    ``boards`` None). Cleared by every write of this client and at the start of a pass."""

    boards: list[dict[str, Any]] | None
    etag: str | None
    server_time: int
    since: int | None = None


def list_boards(client: DeckClient) -> tuple[list[dict[str, Any]], int, str | None]:
    """Every board the user sees, deleted ones included, with the server's second and the
    list's ETag: ``GET /boards``, unless this pass already holds the full list."""
    memo = client.memo
    if memo is not None and memo.boards is not None and memo.since is None:
        return memo.boards, memo.server_time, memo.etag
    response = client.send("GET", "/boards")
    boards = list(client.data(response, _("listing boards"), reads=True) or [])
    etag, second = response.headers.get("ETag"), server_second(response)
    client.keep(ListMemo(boards, etag, second))
    return boards, second, etag


def pick_board(boards: list[dict[str, Any]], title: str, user: str) -> dict[str, Any] | None:
    """The live board titled ``title``: the user's own first, then the oldest."""
    live = [b for b in boards if b.get("title") == title and not b.get("deletedAt")]
    owned = [b for b in live if owner_id(b.get("owner")) == user]
    found = sorted(owned or live, key=lambda b: int(b["id"]))
    return found[0] if found else None


def owner_id(owner: Any) -> str:
    """A user id from Deck's owner field: a string in writes, an object in reads."""
    if isinstance(owner, Mapping):
        return str(owner.get("uid") or owner.get("primaryKey") or "")
    return str(owner or "")
