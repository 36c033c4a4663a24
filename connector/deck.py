"""Nextcloud Deck boards as a sync target (REST API v1.0, as Nextcloud 29 + Deck 1.13 speak it).

A collection is a board (found by title, created when missing); a record is a card, its
remote id the card id. Fields are listed in :data:`DeckTarget.FIELDS`; the canonical uid
lives in a footer of the description (see :mod:`connector.deck_cards`).

Deck has no conditional writes, and its ETags change once per second, so a record's etag
is ``"{deck etag}:{content hash}"`` and every write first reads the card and compares
content hashes. Change detection polls the board list (``If-None-Match``, or
``If-Modified-Since`` where the server understands it) and lists the board's cards only
when the board changed; the cursor is :class:`connector.deck_board.DeckCursor` as JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, ClassVar

from connector.base import Changes, Collection, RemoteField, RemoteRecord, Target
from connector.deck_board import (
    BoardRef,
    DeckClient,
    DeckCursor,
    create_label,
    list_boards,
    load_board,
    message_of,
    no_access,
    open_board,
    pick_board,
    server_second,
    titles,
)
from connector.deck_cards import (
    CardWriter,
    card_labels,
    card_record,
    cut_title,
    deck_due,
    etag_hash,
    plan_edit,
    with_footer,
)
from connector.errors import NotFound, PreconditionFailed, RecordRejected, RetryLater

log = logging.getLogger(__name__)

Card = dict[str, Any]


@dataclass
class _Poll:
    """A look at the board list: the board's entry (None: unchanged) and the server's time."""

    entry: dict[str, Any] | None
    list_etag: str | None
    server_time: int
    ims: bool | None


class DeckTarget(Target):
    """Cards on Nextcloud Deck boards, written by one Nextcloud user with an app password."""

    kind = "deck"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = {
        "title": RemoteField("title", "text", doc="card title; over 255 characters cut with …"),
        "description": RemoteField("description", "text", doc="without the marker footer"),
        "stack": RemoteField("stack", "text", doc="title of the card's stack"),
        "labels": RemoteField("labels", "set", doc="titles of the card's labels"),
        "assignees": RemoteField("assignees", "set", doc="Nextcloud user ids assigned"),
        "due": RemoteField("due", "datetime", doc="due date, ISO 8601 in UTC"),
        "archived": RemoteField("archived", "bool", doc="archived cards are not deleted"),
    }

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        verify: bool = True,
        timeout: float = 30.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.user = user
        self.client = DeckClient(
            url, user, password, verify=verify, timeout=timeout, sleep=sleep, count=self._count
        )
        self._boards: dict[str, BoardRef] = {}
        #: Card id → the stack it was last seen in (Deck's card URLs name a stack).
        self._stack_of: dict[int, int] = {}
        #: Board id → cards this adapter created or read since its last listing of the board.
        self._known: dict[int, set[int]] = {}
        self._ims: bool | None = None

    def _count(self, sent: int) -> None:
        self.requests += sent

    # -- collections --------------------------------------------------------------------

    def open(self, collection: Collection) -> None:
        """Find or create the board; add the stacks, labels and shares the mapping names."""
        self._boards[collection.name] = open_board(self.client, collection)

    def _board(self, collection: Collection) -> BoardRef:
        board = self._boards.get(collection.name)
        if board is None:
            entry = pick_board(list_boards(self.client)[0], collection.name, self.user)
            if entry is None:
                raise NotFound(f"Deck board {collection.name!r} does not exist (yet)")
            board = BoardRef(int(entry["id"]), collection.name)
            board.learn(load_board(self.client, board.id, board.title))
            self._boards[collection.name] = board
        return board

    def _refresh(self, board: BoardRef) -> None:
        board.learn(load_board(self.client, board.id, board.title))

    # -- change detection ---------------------------------------------------------------

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Nothing (``complete=False``) while the board is unchanged, else every card."""
        state = DeckCursor.load(cursor) if cursor else None
        if state is None:
            boards, response = list_boards(self.client)
            entry = pick_board(boards, collection.name, self.user)
            if entry is None:
                raise NotFound(f"Deck board {collection.name!r} does not exist (yet)")
            board = self._known_board(collection.name, int(entry["id"]))
            poll = _Poll(entry, response.headers.get("ETag"), server_second(response), self._ims)
            return self._listing(board, poll, None)
        board = self._known_board(collection.name, state.board, state)
        poll = self._poll(board, state)
        if poll.entry is None:
            state.list_etag, state.ims = poll.list_etag, poll.ims
            return Changes([], set(), False, state.dump())
        return self._listing(board, poll, state)

    def _known_board(self, name: str, board_id: int, state: DeckCursor | None = None) -> BoardRef:
        """The cached board if it is this one, else one built from the cursor (or bare)."""
        board = self._boards.get(name)
        if board is None or board.id != board_id:
            stacks, labels = (dict(state.stacks), dict(state.labels)) if state else ({}, {})
            board = self._boards[name] = BoardRef(board_id, name, stacks, labels)
        return board

    def _poll(self, board: BoardRef, state: DeckCursor) -> _Poll:
        if state.unsafe:
            # The board changed in the very second of the last listing: ETags and
            # If-Modified-Since cannot show a later edit in that second.
            boards, response = list_boards(self.client)
            entry = self._entry(boards, board)
            return _Poll(entry, response.headers.get("ETag"), server_second(response), state.ims)
        if state.ims is not False:
            found = self._poll_since(board, state)
            if found is not None:
                return found
        headers = {"If-None-Match": state.list_etag} if state.list_etag else {}
        response = self.client.send("GET", "/boards", headers=headers)
        etag = response.headers.get("ETag", state.list_etag)
        if response.status_code == 304:
            return _Poll(None, etag, server_second(response), state.ims)
        entry = self._entry(self.client.data(response, "listing boards", reads=True) or [], board)
        changed = entry if int(entry.get("lastModified") or 0) != state.board_lm else None
        return _Poll(changed, etag, server_second(response), state.ims)

    def _poll_since(self, board: BoardRef, state: DeckCursor) -> _Poll | None:
        """``If-Modified-Since`` on the board list (Deck ≥ 1.17); None when not understood."""
        headers = {"If-Modified-Since": formatdate(state.board_lm, usegmt=True)}
        try:
            response = self.client.send("GET", "/boards", headers=headers, once=not state.ims)
        except RetryLater:
            if state.ims:
                raise
            return None  # the probe hit an outage: decide another time
        if response.status_code == 500 and not state.ims:
            log.info("Deck answers 500 to If-Modified-Since (before 1.17): using ETags only")
            state.ims = self._ims = False
            return None
        boards = self.client.data(response, "listing boards changed since", reads=True) or []
        self._ims = True
        entry = next((b for b in boards if int(b["id"]) == board.id), None)
        if entry is not None:
            entry = self._entry([entry], board)
        return _Poll(entry, state.list_etag, server_second(response), True)

    def _entry(self, boards: list[dict[str, Any]], board: BoardRef) -> dict[str, Any]:
        entry = next((b for b in boards if int(b["id"]) == board.id), None)
        if entry is None:
            raise no_access(self.client, board.title, board.id)
        if entry.get("deletedAt"):
            raise NotFound(
                f"Deck board {board.title!r} (id {board.id}) was deleted; restore it in Deck "
                "or reset the rule to start on a new board"
            )
        return entry

    def _listing(self, board: BoardRef, poll: _Poll, previous: DeckCursor | None) -> Changes:
        assert poll.entry is not None
        live = self._stacks(board, "")
        archived = self._stacks(board, "/archived")
        board.stacks = titles(live)
        cards: dict[int, tuple[Card, list[str] | None]] = {}
        for card in _cards(live):
            cards[int(card["id"])] = (card, None)
        for card in _cards(archived):
            newer = int(card.get("lastModified") or 0) >= _modified(cards.get(int(card["id"])))
            if newer:
                cards[int(card["id"])] = (card, self._archived_assignees(board, card, previous))
        expected = set(self._known.pop(board.id, set()))
        expected |= {int(i) for i in (previous.cards if previous else {})}
        for card_id in sorted(expected - cards.keys()):
            found = self._still_there(board, card_id)
            if found is not None:
                cards[card_id] = (found, None)
        records = [self._record(board, card, users) for card, users in cards.values()]
        self._learn_labels(board, [card for card, _ in cards.values()])
        cursor = self._cursor(board, poll, records, cards)
        return Changes(records, set(), True, cursor.dump())

    def _stacks(self, board: BoardRef, suffix: str) -> list[dict[str, Any]]:
        response = self.client.send("GET", f"/boards/{board.id}/stacks{suffix}")
        if response.status_code == 403:
            raise no_access(self.client, board.title, board.id)
        return list(self.client.data(response, f"listing board {board.title!r}", reads=True) or [])

    def _archived_assignees(
        self, board: BoardRef, card: Card, previous: DeckCursor | None
    ) -> list[str]:
        """Deck's archived listing leaves assignees out: reuse them while the card is
        unchanged since a listing that was not in its second, else read the card."""
        key, modified = str(card["id"]), int(card.get("lastModified") or 0)
        seen = previous.cards.get(key) if previous else None
        if previous and seen and seen[0] == modified and modified < previous.listed_at:
            return list(previous.assignees.get(key, []))
        fresh = self._still_there(board, int(card["id"]))
        return [] if fresh is None else self._record(board, fresh).fields["assignees"]

    def _still_there(self, board: BoardRef, card_id: int) -> Card | None:
        """The card if it still lives on this board (cards missing from a listing may
        just have moved or been archived while the listing ran)."""
        try:
            return self._fetch(board, card_id)
        except NotFound:
            return None

    def _learn_labels(self, board: BoardRef, cards: list[Card]) -> None:
        for card in cards:
            for title, label_id in card_labels(card).items():
                board.labels.setdefault(title, label_id)

    def _cursor(
        self,
        board: BoardRef,
        poll: _Poll,
        records: list[RemoteRecord],
        cards: Mapping[int, tuple[Card, list[str] | None]],
    ) -> DeckCursor:
        assert poll.entry is not None
        return DeckCursor(
            board=board.id,
            stacks=dict(board.stacks),
            labels=dict(board.labels),
            list_etag=poll.list_etag,
            board_etag=str(poll.entry.get("ETag") or ""),
            board_lm=int(poll.entry.get("lastModified") or 0),
            listed_at=poll.server_time,
            ims=poll.ims if poll.ims is not None else self._ims,
            cards={r.remote_id: [_modified(cards[int(r.remote_id)]), r.hash] for r in records},
            assignees={
                r.remote_id: r.fields["assignees"] for r in records if r.fields["assignees"]
            },
        )

    # -- records ------------------------------------------------------------------------

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """One card (archived ones too); NotFound when deleted or not on this board."""
        board = self._board(collection)
        return self._record(board, self._fetch(board, _card_id(remote_id)))

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """Add a card with ``uid`` in its footer to the stack ``fields["stack"]`` names."""
        board = self._board(collection)
        default = (list(collection.options.get("stacks") or []) or list(board.stacks) or [""])[0]
        stack = self._stack_id(board, str(fields.get("stack") or default))
        title = cut_title(fields.get("title"))
        body = {
            "title": title,
            "type": "plain",
            "description": with_footer(str(fields.get("description") or ""), uid),
            "duedate": deck_due(fields.get("due")),
        }
        response = self.client.send("POST", f"/boards/{board.id}/stacks/{stack}/cards", body)
        card = self.client.data(response, f"creating card {title[:60]!r}")
        card_id = int(card["id"])
        self._stack_of[card_id] = stack
        self._known.setdefault(board.id, set()).add(card_id)
        now = self._record(board, card).fields
        edit = plan_edit(card, now, fields, uid, None)
        if not edit.noop:
            CardWriter(self.client, board, lambda t: self._label_id(board, t)).apply(card, edit)
            card = self._fetch(board, card_id)
        return self._record(board, card)

    def update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        """Read the card, refuse if it changed since ``etag``, write only ``changes``."""
        board = self._board(collection)
        card = self._fetch(board, _card_id(remote_id))
        current = self._record(board, card)
        if etag is not None and etag_hash(etag) != current.hash:
            raise PreconditionFailed(f"card {remote_id} on {board.title!r} changed meanwhile")
        wanted = {k: v for k, v in changes.items() if k in self.FIELDS}
        stack = self._stack_id(board, str(wanted["stack"])) if "stack" in wanted else None
        edit = plan_edit(card, current.fields, wanted, current.marker, stack)
        if edit.noop:
            return current
        CardWriter(self.client, board, lambda t: self._label_id(board, t)).apply(card, edit)
        return self._record(board, self._fetch(board, int(card["id"])))

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """Delete a card (Deck keeps it in its trash); one already gone is fine."""
        board = self._board(collection)
        try:
            card = self._fetch(board, _card_id(remote_id))
        except NotFound:
            return
        if etag is not None and etag_hash(etag) != self._record(board, card).hash:
            raise PreconditionFailed(f"card {remote_id} on {board.title!r} changed meanwhile")
        path = f"/boards/{board.id}/stacks/{card['stackId']}/cards/{card['id']}"
        response = self.client.send("DELETE", path)
        if response.status_code != 403:  # 403: deleted meanwhile
            self.client.data(response, f"deleting card {remote_id}")

    def _fetch(self, board: BoardRef, card_id: int) -> Card:
        stack = self._stack_of.get(card_id) or next(iter(board.stacks.values()), 0)
        response = self.client.send("GET", f"/boards/{board.id}/stacks/{stack}/cards/{card_id}")
        if response.status_code == 403:
            if message_of(response) != "Card is deleted":
                load_board(self.client, board.id, board.title)  # raises when access is lost
            raise NotFound(f"card {card_id} on {board.title!r}: {message_of(response)}")
        card: Card = self.client.data(response, f"reading card {card_id}", reads=True)
        if board.stack_title(int(card["stackId"])) is None:
            self._refresh(board)
            if board.stack_title(int(card["stackId"])) is None:
                raise NotFound(f"card {card_id} is not on board {board.title!r}")
        self._stack_of[card_id] = int(card["stackId"])
        return card

    def _record(self, board: BoardRef, card: Card, users: list[str] | None = None) -> RemoteRecord:
        self._stack_of[int(card["id"])] = int(card["stackId"])
        return card_record(card, board.stack_title(int(card["stackId"])) or "", users)

    def _stack_id(self, board: BoardRef, title: str) -> int:
        if title not in board.stacks:
            self._refresh(board)
        if title not in board.stacks:
            raise RecordRejected(f"board {board.title!r} has no stack {title!r}")
        return board.stacks[title]

    def _label_id(self, board: BoardRef, title: str) -> int:
        if title not in board.labels:
            self._refresh(board)
        return board.labels.get(title) or create_label(self.client, board, title)

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.client.close()


def _card_id(remote_id: str) -> int:
    try:
        return int(remote_id)
    except ValueError:
        raise NotFound(f"{remote_id!r} is not a Deck card id") from None


def _cards(stacks: list[dict[str, Any]]) -> list[Card]:
    return [card for stack in stacks for card in stack.get("cards") or []]


def _modified(entry: tuple[Card, Any] | None) -> int:
    return -1 if entry is None else int(entry[0].get("lastModified") or 0)
