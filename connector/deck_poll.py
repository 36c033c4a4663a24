"""Whether a Deck board changed since a listing: the cursor a listing leaves behind, and
one look at the board list (ETag, ``If-Modified-Since``, or this pass's earlier answer).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from typing import Any

from connector.deck_client import (
    BoardRef,
    DeckClient,
    ListMemo,
    list_boards,
    no_access,
    server_second,
)
from connector.errors import NotFound, RetryLater
from connector.i18n import _

log = logging.getLogger(__name__)


@dataclass
class Poll:
    """One look at the board list: the board's entry if it changed (else None), the list's
    ETag, the server's second, and whether ``If-Modified-Since`` works (None: unknown)."""

    entry: dict[str, Any] | None
    list_etag: str | None
    server_time: int
    ims: bool | None


@dataclass
class DeckCursor:
    """What one listing of a board left behind (serialised as JSON, version 1).

    ``listed_at`` is the server's second when the board was polled for that listing; when
    ``board_lm`` is not older than it, an edit in that same second would keep every ETag,
    so the next pass lists again instead of trusting them. ``ims`` says whether the server
    understands ``If-Modified-Since`` (None: not yet probed). ``cards`` maps card id to
    ``[lastModified, content hash]``; ``assignees`` keeps non-empty assignee lists, because
    Deck's archived listing leaves them out.
    """

    board: int
    stacks: dict[str, int]
    labels: dict[str, int]
    list_etag: str | None
    board_etag: str
    board_lm: int
    listed_at: int
    ims: bool | None = None
    cards: dict[str, list[Any]] = field(default_factory=dict)
    assignees: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, board: BoardRef, poll: Poll, cards: Mapping[str, tuple[int, str, list[str]]]
    ) -> DeckCursor:
        """The cursor after a listing: ``cards`` maps id to (lastModified, hash, assignees)."""
        assert poll.entry is not None
        return cls(
            board=board.id,
            stacks=dict(board.stacks),
            labels=dict(board.labels),
            list_etag=poll.list_etag,
            board_etag=str(poll.entry.get("ETag") or ""),
            board_lm=int(poll.entry.get("lastModified") or 0),
            listed_at=poll.server_time,
            ims=poll.ims,
            cards={i: [lm, digest] for i, (lm, digest, _) in cards.items()},
            assignees={i: users for i, (_, _, users) in cards.items() if users},
        )

    @property
    def unsafe(self) -> bool:
        """Whether ETags cannot be trusted: the board changed in the listing's second."""
        return self.board_lm >= self.listed_at

    def dump(self) -> str:
        """The cursor as compact JSON."""
        return json.dumps({"v": 1, **asdict(self)}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def load(cls, text: str) -> DeckCursor | None:
        """Parse a cursor; None for anything unreadable (the caller lists everything)."""
        try:
            data = json.loads(text)
            if data.pop("v") != 1:
                return None
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("ignoring an unreadable Deck cursor; listing the whole board")
            return None


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
            _(
                "Deck board {title!r} (id {id}) was deleted; restore it in Deck "
                "or reset the rule to start on a new board"
            ).format(title=board.title, id=board.id)
        )
    return entry
