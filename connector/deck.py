"""Nextcloud Deck boards as a sync target (REST API v1.0, as Nextcloud 29 + Deck 1.13 speak it).

A collection is a board (found by title, created when missing); a record is a card, its
remote id the card id. Fields are listed in :data:`DeckTarget.FIELDS`; the canonical uid
lives in a footer of the description (see :mod:`connector.deck_cards`).

Deck has no conditional writes, and its ETags change once per second, so a record's etag
is ``"{deck etag}:{content hash}"`` and every write first reads the card and compares
content hashes. Change detection polls the board list (``If-None-Match``, or
``If-Modified-Since`` where the server understands it) once per pass for all boards of the
target, and lists a board's cards only when the board changed; the cursor is
:class:`connector.deck_poll.DeckCursor` as JSON. A listing taken in the second of the
board's last change (our own writes, just now) is not trusted by the next pass, which lists
that board again instead of waiting here for the next second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from connector import deck_doctor
from connector.base import Changes, Collection, Finding, RemoteField, RemoteRecord, Target
from connector.deck_board import create_label, load_board, open_board
from connector.deck_cards import (
    CardWriter,
    card_id,
    card_record,
    cut_title,
    deck_due,
    etag_hash,
    modified,
    plan_edit,
    stack_cards,
    with_footer,
)
from connector.deck_client import (
    BoardRef,
    DeckClient,
    list_boards,
    message_of,
    no_access,
    pick_board,
    titles,
)
from connector.deck_poll import DeckCursor, Poll, poll_board
from connector.deck_shares import missing_participants
from connector.errors import NotFound, PreconditionFailed, RecordRejected
from connector.i18n import _

Card = dict[str, Any]


class DeckTarget(Target):
    """Cards on Nextcloud Deck boards, written by one Nextcloud user with an app password."""

    kind = "deck"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = {
        "title": RemoteField(
            "title", "text", doc="card title; over 255 characters cut with …", max_length=255
        ),
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
        #: Board id → cards created here since the last listing of that board.
        self._created: dict[int, set[int]] = {}
        #: Whether the server understands If-Modified-Since, once a poll found out.
        self._ims: bool | None = None

    def _count(self, sent: int) -> None:
        self.requests += sent

    def begin_pass(self) -> None:
        """Forget the board list of the last pass: each pass polls it once, not per rule."""
        self.client.memo, self.client.passes = None, True

    # -- collections --------------------------------------------------------------------

    def open(self, collection: Collection) -> None:
        """Find or create the board; add the stacks, labels and shares the mapping names."""
        self._boards[collection.name] = open_board(self.client, collection)

    def diagnose(self, collections: Sequence[Collection]) -> list[Finding]:
        """``connector doctor``'s checks (see :mod:`connector.deck_doctor`); writes nothing."""
        return deck_doctor.diagnose(self.client, collections)

    def missing_participants(self, acl: Sequence[Mapping[str, Any]]) -> list[str]:
        """Which users and groups of a rule's ``deck.acl`` Nextcloud does not know, named as
        ``"group 'beirat'"`` (empty when all exist): one request per entry, no writes."""
        return missing_participants(self.client, list(acl))

    def _board(self, collection: Collection) -> BoardRef:
        board = self._boards.get(collection.name)
        if board is None:
            entry = pick_board(list_boards(self.client)[0], collection.name, self.user)
            if entry is None:
                raise NotFound(
                    _("Deck board {title!r} does not exist (yet)").format(title=collection.name)
                )
            board = self._board_as(collection.name, int(entry["id"]))
            self._refresh(board)
        return board

    def _board_as(self, name: str, board_id: int, state: DeckCursor | None = None) -> BoardRef:
        """The cached board if it is this one, else one built from the cursor (or bare)."""
        board = self._boards.get(name)
        if board is None or board.id != board_id:
            stacks, labels = (dict(state.stacks), dict(state.labels)) if state else ({}, {})
            board = self._boards[name] = BoardRef(board_id, name, stacks, labels)
        return board

    def _refresh(self, board: BoardRef) -> None:
        board.learn(load_board(self.client, board.id, board.title))

    # -- change detection ---------------------------------------------------------------

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Nothing (``complete=False``) while the board is unchanged, else every card."""
        state = DeckCursor.load(cursor) if cursor else None
        if state is None:
            boards, second, etag = list_boards(self.client)
            entry = pick_board(boards, collection.name, self.user)
            if entry is None:
                raise NotFound(
                    _("Deck board {title!r} does not exist (yet)").format(title=collection.name)
                )
            poll = Poll(entry, etag, second, self._ims)
            board = self._board_as(collection.name, int(entry["id"]))
            return self._listing(board, poll)
        board = self._board_as(collection.name, state.board, state)
        state.ims = self._ims if state.ims is None else state.ims  # one probe per server
        poll = poll_board(self.client, board, state)
        self._ims = poll.ims if poll.ims is not None else self._ims
        if poll.entry is None:
            state.list_etag, state.ims = poll.list_etag, poll.ims
            return Changes([], set(), False, state.dump())
        return self._listing(board, poll, state)

    def _listing(self, board: BoardRef, poll: Poll, previous: DeckCursor | None = None) -> Changes:
        """Every card of the board: live ones, archived ones, and any that went missing
        from the last listing but still exist (moved or archived while it ran)."""
        live, archived = self._stacks(board, ""), self._stacks(board, "/archived")
        board.stacks = titles(live)
        cards: dict[int, tuple[Card, list[str] | None]] = {}
        for card in stack_cards(live):
            cards[int(card["id"])] = (card, None)
        for card in stack_cards(archived):
            twin = cards.get(int(card["id"]))  # in both listings if archived in between
            if twin is None or modified(card) >= modified(twin[0]):
                cards[int(card["id"])] = (card, self._archived_assignees(board, card, previous))
        expected = self._created.pop(board.id, set())
        expected |= {int(i) for i in (previous.cards if previous else {})}
        for missing in sorted(expected - cards.keys()):
            found = self._still_there(board, missing)
            if found is not None:
                cards[missing] = (found, None)
        board.learn_labels([card for card, _ in cards.values()])
        records = {i: self._record(board, card, users) for i, (card, users) in cards.items()}
        seen = {
            str(i): (modified(cards[i][0]), r.hash, list(r.fields["assignees"]))
            for i, r in records.items()
        }
        poll.ims = poll.ims if poll.ims is not None else self._ims
        return Changes(list(records.values()), set(), True, DeckCursor.of(board, poll, seen).dump())

    def _stacks(self, board: BoardRef, suffix: str) -> list[dict[str, Any]]:
        response = self.client.send("GET", f"/boards/{board.id}/stacks{suffix}")
        if response.status_code == 403:
            raise no_access(self.client, board.title, board.id)
        return list(
            self.client.data(
                response, _("listing board {title}").format(title=repr(board.title)), reads=True
            )
            or []
        )

    def _archived_assignees(
        self, board: BoardRef, card: Card, previous: DeckCursor | None
    ) -> list[str]:
        """Deck's archived listing leaves assignees out: reuse the cursor's while the card
        is unchanged since a listing outside its second, else read the card."""
        key, stamp = str(card["id"]), modified(card)
        seen = previous.cards.get(key) if previous else None
        if previous and seen and seen[0] == stamp and stamp < previous.listed_at:
            return list(previous.assignees.get(key, []))
        fresh = self._still_there(board, int(card["id"]))
        return [] if fresh is None else list(self._record(board, fresh).fields["assignees"])

    def _still_there(self, board: BoardRef, card: int) -> Card | None:
        try:
            return self._fetch(board, card)
        except NotFound:
            return None

    # -- records ------------------------------------------------------------------------

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """One card (archived ones too); NotFound when deleted or not on this board."""
        board = self._board(collection)
        return self._record(board, self._fetch(board, card_id(remote_id)))

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """Add a card with ``uid`` in its footer to the stack ``fields["stack"]`` names
        (default: the collection's first stack), then its labels, assignees, archiving.
        Without a mapped title the uid stands in: Deck requires one."""
        board = self._board(collection)
        default = (list(collection.options.get("stacks") or []) or list(board.stacks) or [""])[0]
        stack = self._stack_id(board, str(fields.get("stack") or default))
        title = cut_title(fields.get("title") or uid)
        body = {
            "title": title,
            "type": "plain",
            "description": with_footer(str(fields.get("description") or ""), uid),
            "duedate": deck_due(fields.get("due")),
        }
        response = self.client.send("POST", f"/boards/{board.id}/stacks/{stack}/cards", body)
        card = self.client.data(response, _("creating card {title}").format(title=repr(title[:60])))
        self._created.setdefault(board.id, set()).add(int(card["id"]))
        edit = plan_edit(card, self._record(board, card).fields, fields, uid, None)
        if not edit.noop:
            CardWriter(self.client, board, lambda t: self._label_id(board, t)).apply(card, edit)
            card = self._fetch(board, int(card["id"]))
        return self._record(board, card)

    def update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        """Read the card, refuse if it changed since ``etag``, then write only ``changes``
        (the rest of the card, its footer included, stays as read)."""
        board = self._board(collection)
        card = self._fetch(board, card_id(remote_id))
        current = self._record(board, card)
        if etag is not None and etag_hash(etag) != current.hash:
            raise PreconditionFailed(_changed(remote_id, board))
        wanted = {k: v for k, v in changes.items() if k in self.FIELDS}
        stack = self._stack_id(board, str(wanted["stack"])) if "stack" in wanted else None
        edit = plan_edit(card, current.fields, wanted, current.marker, stack)
        if edit.noop:
            return current
        CardWriter(self.client, board, lambda t: self._label_id(board, t)).apply(card, edit)
        return self._record(board, self._fetch(board, int(card["id"])))

    marks_records = True

    def mark(
        self, collection: Collection, remote_id: str, uid: str, etag: str | None
    ) -> RemoteRecord:
        """Put ``uid`` in the card's footer (replacing any other), the text left as it is."""
        board = self._board(collection)
        card = self._fetch(board, card_id(remote_id))
        current = self._record(board, card)
        if etag is not None and etag_hash(etag) != current.hash:
            raise PreconditionFailed(_changed(remote_id, board))
        if current.marker == uid:
            return current
        description = with_footer(str(current.fields["description"]), uid)
        writer = CardWriter(self.client, board, lambda t: self._label_id(board, t))
        writer.put(card, {"description": description})
        return self._record(board, self._fetch(board, int(card["id"])))

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """Delete a card (Deck keeps it in its trash); one already gone is fine."""
        board = self._board(collection)
        card = self._still_there(board, card_id(remote_id))
        if card is None:
            return
        if etag is not None and etag_hash(etag) != self._record(board, card).hash:
            raise PreconditionFailed(_changed(remote_id, board))
        path = f"/boards/{board.id}/stacks/{card['stackId']}/cards/{card['id']}"
        response = self.client.send("DELETE", path)
        if response.status_code != 403:  # 403: deleted meanwhile
            self.client.data(response, _("deleting card {card}").format(card=remote_id))

    def _fetch(self, board: BoardRef, card: int) -> Card:
        """``GET`` a card of this board; NotFound when deleted, elsewhere, or out of reach."""
        stack = self._stack_of.get(card) or next(iter(board.stacks.values()), 0)
        response = self.client.send("GET", f"/boards/{board.id}/stacks/{stack}/cards/{card}")
        if response.status_code == 403:
            if message_of(response) != "Card is deleted":
                load_board(self.client, board.id, board.title)  # raises when access is lost
            raise NotFound(
                _("card {card} on {board!r}: {reason}").format(
                    card=card, board=board.title, reason=message_of(response)
                )
            )
        what = _("reading card {card}").format(card=card)
        found: Card = self.client.data(response, what, reads=True)
        if board.stack_title(int(found["stackId"])) is None:
            self._refresh(board)
            if board.stack_title(int(found["stackId"])) is None:
                raise NotFound(
                    _("card {card} is not on board {board!r}").format(card=card, board=board.title)
                )
        return found

    def _record(self, board: BoardRef, card: Card, users: list[str] | None = None) -> RemoteRecord:
        self._stack_of[int(card["id"])] = int(card["stackId"])
        return card_record(card, board.stack_title(int(card["stackId"])) or "", users)

    def _stack_id(self, board: BoardRef, title: str) -> int:
        if title not in board.stacks:
            self._refresh(board)
        if title not in board.stacks:
            raise RecordRejected(
                _("board {board!r} has no stack {stack!r}").format(board=board.title, stack=title)
            )
        return board.stacks[title]

    def _label_id(self, board: BoardRef, title: str) -> int:
        if title not in board.labels:
            self._refresh(board)
        return board.labels.get(title) or create_label(self.client, board, title)

    def close(self) -> None:
        """Close the HTTP sessions."""
        self.client.close()


def _changed(remote_id: str, board: BoardRef) -> str:
    return _("card {card} on {board!r} changed meanwhile").format(card=remote_id, board=board.title)
