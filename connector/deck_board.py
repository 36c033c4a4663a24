"""Deck below the cards: HTTP with Deck's conventions, boards, and polling for changes.

:class:`DeckClient` sends every request through :class:`connector.http.HttpClient` under the
API base with ``OCS-APIRequest: true`` and turns answers into the adapter's errors.
:func:`open_board` makes a board match its collection (creating only what is missing);
:func:`poll_board` tells from the board list whether a board changed since a listing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from connector.base import Collection
from connector.errors import (
    ConfigError,
    CredentialsError,
    Fatal,
    NotFound,
    RecordRejected,
    RetryLater,
)
from connector.http import HttpClient
from sync.i18n import _

if TYPE_CHECKING:
    from connector.deck_cards import DeckCursor

log = logging.getLogger(__name__)

API = "/index.php/apps/deck/api/v1.0"
TITLE_MAX = 100
BOARD_COLOR = "0082c9"
LABEL_COLORS = ("31CC7C", "317CCC", "FF7A66", "F1DB50", "9C27B0", "795548", "607D8B")


def message_of(response: requests.Response) -> str:
    """Deck's error message (``{"status", "message"}``), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason or str(response.status_code)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text[:200]


def server_second(response: requests.Response) -> int:
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
    ) -> requests.Response:
        """One request under the API base; 401 becomes a :class:`CredentialsError`."""
        client = self.once if once else self.http
        before = client.requests
        if method != "GET":
            self.memo = None  # our own write: the next poll must see it
        try:
            return client.request(method, API + path, json=body, headers=dict(headers or {}))
        except CredentialsError:
            raise CredentialsError(
                _(
                    "Nextcloud at {url} refused user {user} (401): "
                    "check the Deck app password for user {user}"
                ).format(url=client.base_url, user=self.user)
            ) from None
        finally:
            self._count(client.requests - before)

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
            raise CredentialsError(
                f"Nextcloud at {self.http.base_url} refused user {self.user} (401): "
                f"check the Deck app password for user {self.user}"
            ) from None
        finally:
            self._count(self.http.requests - before)
        try:
            body = response.json()["ocs"]
            return int(body["meta"]["statuscode"]), body.get("data")
        except (ValueError, KeyError, TypeError):
            return response.status_code, None

    def data(self, response: requests.Response, what: str, *, reads: bool = False) -> Any:
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
        f"user {client.user} has no access to board {title!r} (id {board_id}) any more: "
        "share it with that user again, or reset the rule to start on a new board"
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


def load_board(client: DeckClient, board_id: int, title: str) -> dict[str, Any]:
    """``GET /boards/{b}`` (stacks, labels, ACL); a 403 means access was lost."""
    response = client.send("GET", f"/boards/{board_id}")
    if response.status_code == 403:
        raise no_access(client, title, board_id)
    what = _("reading board {title}").format(title=repr(title))
    board: dict[str, Any] = client.data(response, what, reads=True)
    return board


def open_board(client: DeckClient, collection: Collection) -> BoardRef:
    """Find or create the board, then add the stacks, labels and shares it lacks.

    Before anything is written, the users and groups of shares still to be made must exist:
    Deck 1.13 stores a share with an unknown group silently, and every assignment on the
    board then fails. An unknown one stops the rule with a :class:`ConfigError` naming it.
    """
    options = collection.options
    stacks = [str(s) for s in options.get("stacks") or []]
    labels = [str(s) for s in options.get("labels") or []]
    wanted = list(options.get("acl") or [])
    for title in [collection.name, *stacks, *labels]:
        if not title.strip() or len(title) > TITLE_MAX:
            raise ConfigError(f"Deck title {title!r} must have 1 to {TITLE_MAX} characters")
    found = pick_board(list_boards(client)[0], collection.name, client.user)
    board = None if found is None else load_board(client, int(found["id"]), collection.name)
    existing = list((board or {}).get("acl") or [])
    missing = _stored_unknown(existing, wanted)
    missing += missing_participants(client, _shares_to_add(client, existing, wanted))
    if missing:
        raise ConfigError(
            f"Deck board {collection.name!r} is to be shared with {', '.join(missing)}, "
            f"which Nextcloud at {client.http.base_url} does not know: create "
            f"{'it' if len(missing) == 1 else 'them'} there (and put the council's accounts "
            "in the group), or correct the rule's deck.acl in the mapping"
        )
    if board is None:
        body = {"title": collection.name, "color": BOARD_COLOR}
        board = client.data(client.send("POST", "/boards", body), _("creating the board"))
        log.info("created Deck board %r (id %s)", collection.name, board["id"])
    ref = BoardRef(int(board["id"]), collection.name)
    ref.learn(board)
    _ensure_stacks(client, ref, stacks)
    _ensure_labels(client, ref, labels)
    _ensure_shares(client, ref, existing, wanted)
    return ref


def _share_key(share: Mapping[str, Any]) -> tuple[int, str]:
    """(Deck share type, participant) of a mapping's share: 0 a user, 1 a group."""
    return (1, str(share["group"])) if share.get("group") else (0, str(share.get("user") or ""))


def _label(key: tuple[int, str]) -> str:
    return f"{'group' if key[0] else 'user'} {key[1]!r}"


def _shares_to_add(
    client: DeckClient, existing: list[Any], wanted: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    have = {(int(a.get("type", 0)), owner_id(a.get("participant"))) for a in existing}
    have.add((0, client.user))
    todo: dict[tuple[int, str], Mapping[str, Any]] = {}
    for share in wanted:
        key = _share_key(share)
        if key[1] and key not in have:
            todo.setdefault(key, share)
    return list(todo.values())


def _stored_unknown(existing: list[Any], wanted: list[Mapping[str, Any]]) -> list[str]:
    """Shares the mapping names that the board already has with an unknown participant
    (Deck then shows the participant as a plain string instead of a user or group)."""
    unknown = {
        (int(a.get("type", 0)), a["participant"])
        for a in existing
        if isinstance(a.get("participant"), str)
    }
    return [_label(k) for k in dict.fromkeys(_share_key(s) for s in wanted) if k in unknown]


def missing_participants(client: DeckClient, shares: list[Mapping[str, Any]]) -> list[str]:
    """The users and groups of ``shares`` (mapping ``acl`` entries) Nextcloud does not know,
    as ``"group 'beirat'"``; one request each. The provisioning API answers admins and
    group admins; for other accounts the sharing search (exact matches) decides."""
    missing = []
    for key in dict.fromkeys(_share_key(s) for s in shares if _share_key(s)[1]):
        if not _exists(client, *key):
            missing.append(_label(key))
    return missing


def _exists(client: DeckClient, kind: int, name: str) -> bool:
    if kind == 1:
        status, data = client.ocs("/cloud/groups", {"search": name, "limit": 50})
        if status == 200 and isinstance(data, Mapping):
            return name in (data.get("groups") or [])
    else:
        status, data = client.ocs(f"/cloud/users/{quote(name, safe='')}", {})
        if status == 200:
            return True
        if status == 404:
            return False
    params = {"search": name, "itemType": "file", "shareType[]": kind, "lookup": "false"}
    status, data = client.ocs("/apps/files_sharing/api/v1/sharees", params)
    if status != 200 or not isinstance(data, Mapping):
        raise Fatal(f"cannot tell whether {_label((kind, name))} exists on Nextcloud ({status})")
    found = (data.get("exact") or {}).get("groups" if kind else "users") or []
    return any(str((f.get("value") or {}).get("shareWith")) == name for f in found)


def _ensure_stacks(client: DeckClient, ref: BoardRef, stacks: list[str]) -> None:
    for order, title in enumerate(stacks):
        if title not in ref.stacks:
            body = {"title": title, "order": order}
            made = client.data(client.send("POST", f"/boards/{ref.id}/stacks", body), _("stack"))
            ref.stacks[title] = int(made["id"])


def _ensure_labels(client: DeckClient, ref: BoardRef, labels: list[str]) -> None:
    for title in labels:
        if title not in ref.labels:
            create_label(client, ref, title)


def create_label(client: DeckClient, ref: BoardRef, title: str) -> int:
    """Add a label to the board and remember its id."""
    if not title.strip() or len(title) > TITLE_MAX:
        raise RecordRejected(f"label {title!r} must have 1 to {TITLE_MAX} characters")
    color = LABEL_COLORS[len(ref.labels) % len(LABEL_COLORS)]
    response = client.send("POST", f"/boards/{ref.id}/labels", {"title": title, "color": color})
    what = _("creating label {title}").format(title=repr(title))
    ref.labels[title] = int(client.data(response, what)["id"])
    return ref.labels[title]


def _ensure_shares(
    client: DeckClient, ref: BoardRef, existing: list[Any], wanted: list[Mapping[str, Any]]
) -> None:
    """POST each share the board lacks, once (Deck answers a repeated one with 500)."""
    for share in _shares_to_add(client, existing, wanted):
        kind, participant = _share_key(share)
        body = {
            "type": kind,
            "participant": participant,
            "permissionEdit": bool(share.get("edit", True)),
            "permissionShare": bool(share.get("share", False)),
            "permissionManage": bool(share.get("manage", False)),
        }
        response = client.send("POST", f"/boards/{ref.id}/acl", body)
        what = _("sharing board {title} with {participant}")
        client.data(response, what.format(title=repr(ref.title), participant=participant))


@dataclass
class Poll:
    """One look at the board list: the board's entry if it changed (else None), the list's
    ETag, the server's second, and whether ``If-Modified-Since`` works (None: unknown)."""

    entry: dict[str, Any] | None
    list_etag: str | None
    server_time: int
    ims: bool | None


def poll_board(client: DeckClient, board: BoardRef, state: DeckCursor) -> Poll:
    """Whether the board changed since the listing ``state`` describes: one request, two
    while probing ``If-Modified-Since`` once on a server that does not know it."""
    if state.unsafe:
        # The board changed in the very second of the last listing: neither ETags nor
        # If-Modified-Since can show a later edit in that second, so list again.
        boards, second, etag = list_boards(client)
        return Poll(live_entry(client, boards, board), etag, second, state.ims)
    remembered = _from_memo(client, board, state)
    if remembered is not None:
        return remembered
    if state.ims is not False:
        found = _poll_since(client, board, state)
        if found is not None:
            return found
    headers = {"If-None-Match": state.list_etag} if state.list_etag else {}
    response = client.send("GET", "/boards", headers=headers)
    etag = response.headers.get("ETag", state.list_etag)
    if response.status_code == 304:
        client.keep(ListMemo(None, etag, server_second(response)))
        return Poll(None, etag, server_second(response), state.ims)
    boards = list(client.data(response, _("listing boards"), reads=True) or [])
    client.keep(ListMemo(boards, etag, server_second(response)))
    entry = live_entry(client, boards, board)
    changed = entry if int(entry.get("lastModified") or 0) != state.board_lm else None
    return Poll(changed, etag, server_second(response), state.ims)


def _from_memo(client: DeckClient, board: BoardRef, state: DeckCursor) -> Poll | None:
    """The poll the pass's earlier answer already gives for this board, if it gives one."""
    memo = client.memo
    if memo is None:
        return None
    if memo.boards is None:  # a 304: only says something to a cursor with the same ETag
        if memo.etag is None or memo.etag != state.list_etag:
            return None
        return Poll(None, memo.etag, memo.server_time, state.ims)
    if memo.since is not None and not (state.ims and memo.since <= state.board_lm):
        return None  # changes after a later second say nothing about this board's
    entry = next((b for b in memo.boards if int(b["id"]) == board.id), None)
    if entry is None and memo.since is not None:
        return Poll(None, state.list_etag, memo.server_time, True)
    entry = live_entry(client, memo.boards if entry is None else [entry], board)
    changed = entry if int(entry.get("lastModified") or 0) != state.board_lm else None
    etag = state.list_etag if memo.since is not None else memo.etag
    return Poll(changed, etag, memo.server_time, state.ims)


def _poll_since(client: DeckClient, board: BoardRef, state: DeckCursor) -> Poll | None:
    """The board list filtered by ``If-Modified-Since`` (Deck ≥ 1.17); None when the server
    does not understand it (Deck < 1.17 answers 500, then remembered in ``state``)."""
    headers = {"If-Modified-Since": formatdate(state.board_lm, usegmt=True)}
    try:
        response = client.send("GET", "/boards", headers=headers, once=not state.ims)
    except RetryLater:
        if state.ims:
            raise
        return None  # the probe met an outage: decide another time
    if response.status_code == 500 and not state.ims:
        log.info("Deck answers 500 to If-Modified-Since (before 1.17): using ETags only")
        state.ims = False
        return None
    boards = list(client.data(response, _("listing changed boards"), reads=True) or [])
    client.keep(ListMemo(boards, None, server_second(response), since=state.board_lm))
    entry = next((b for b in boards if int(b["id"]) == board.id), None)
    if entry is not None:
        entry = live_entry(client, [entry], board)
    return Poll(entry, state.list_etag, server_second(response), True)


def live_entry(client: DeckClient, boards: list[dict[str, Any]], board: BoardRef) -> dict[str, Any]:
    """The board's entry in a board list; NotFound when it is missing or deleted."""
    entry = next((b for b in boards if int(b["id"]) == board.id), None)
    if entry is None:
        raise no_access(client, board.title, board.id)
    if entry.get("deletedAt"):
        raise NotFound(
            f"Deck board {board.title!r} (id {board.id}) was deleted; restore it in Deck "
            "or reset the rule to start on a new board"
        )
    return entry
