"""The rules of the Nextcloud Deck test double: every operation the REST and OCS APIs offer.

Each method takes the acting user and the request data and returns a :class:`Reply` (or raises
:class:`DeckError`), changing state the way Nextcloud 29 + Deck 1.13.10 did in the recordings
under ``tests/fixtures/nextcloud29-deck1.13/`` (step numbers in comments refer to those files).
Behaviour the recordings do not show follows Deck's source and is marked "not recorded".
The card rules are in :mod:`.deck_card_state`, validation and creation helpers in
:mod:`.deck_rules`.
"""

from __future__ import annotations

import json

from connector.testing.deck_card_state import CardRules
from connector.testing.deck_entities import (
    MANAGE,
    READ,
    SHARE,
    Acl,
    Json,
    Label,
    Reply,
    forbidden,
    internal_error,
    md5_hex,
)
from connector.testing.deck_rules import (
    TEXT,
    Body,
    as_int,
    check,
)


class DeckState(CardRules):
    """The model plus every state-changing rule."""

    def list_boards(self, user: str, details: bool, since: int | None = None) -> Reply:
        """Deleted boards stay listed with ``deletedAt`` (42); ``since`` is the 1.17 filter."""
        boards = self.visible_boards(user)
        if since is not None:
            boards = [board for board in boards if board.last_modified > since]
        body = [self.board_json(b, user, "details" if details else "list") for b in boards]
        return Reply(body, etag=self.list_etag(body))

    @staticmethod
    def list_etag(body: Json) -> str:
        """The list's ETag is a hash of the whole answer, unlike any board's (01)."""
        return md5_hex(json.dumps(body, sort_keys=True))

    def get_board(self, user: str, board_id: int) -> Reply:
        body = self.board_json(self.board_for(user, board_id), user, "get")
        return Reply(body, etag=body["ETag"])

    def create_board(self, user: str, body: Body) -> Reply:
        title, color = body.get("title"), body.get("color")
        check(("title", title, (*TEXT, "max:100")), ("color", color, (*TEXT, "max:6")))
        board = self._new_board(str(title), user, str(color))
        return Reply(self.board_json(board, user, "created"))

    def update_board(self, user: str, board_id: int, body: Body) -> Reply:
        board = self.board_for(user, board_id, MANAGE)
        title, color = body.get("title"), body.get("color")
        archived = body.get("archived", False)
        check(
            ("title", title, (*TEXT, "max:100")),
            ("color", color, (*TEXT, "max:6")),
            ("archived", archived, ("bool",)),
        )
        board.title, board.color, board.archived = str(title), str(color), bool(archived)
        before = board.last_modified
        self._board_changed(board.id)
        return Reply(self.board_json(board, user, "get", last_modified=before))

    def delete_board(self, user: str, board_id: int) -> Reply:
        """Soft delete; the answer still shows the previous ``lastModified`` (41)."""
        board = self.board_for(user, board_id, MANAGE)
        before = board.last_modified
        board.deleted_at = self.now()
        self._board_changed(board.id)
        return Reply(self.board_json(board, user, "get", last_modified=before))

    def undo_delete_board(self, user: str, board_id: int) -> Reply:
        board = self.board_for(user, board_id, MANAGE)
        before = board.last_modified
        board.deleted_at = 0
        self._board_changed(board.id)
        return Reply(self.board_json(board, user, "get", last_modified=before))

    def add_acl(self, user: str, board_id: int, body: Body) -> Reply:
        """Share a board: type 0 user, 1 group; bumps the board (20b, 25, 26)."""
        self.board_for(user, board_id, SHARE)
        kind, participant = body.get("type"), body.get("participant")
        edit, share = body.get("permissionEdit"), body.get("permissionShare")
        manage = body.get("permissionManage")
        check(
            ("type", kind, ("numeric",)),
            ("participant", participant, (*TEXT, "max:64")),
            ("edit", edit, ("not_null",)),
            ("share", share, ("not_null",)),
            ("manage", manage, ("not_null",)),
        )
        kind = as_int(kind)
        # Deck 1.13 checks neither that the user or group exists nor that the share is new:
        # an unknown one is stored (and every assignUser then fails), a repeated one breaks
        # the unique constraint.
        for existing in self._board_acls(board_id):
            if (existing.type, existing.participant) == (kind, str(participant)):
                raise internal_error()
        acl = Acl(
            self._next_id("acl"),
            board_id,
            kind,
            str(participant),
            bool(edit),
            bool(share),
            bool(manage),
        )
        self.acls[acl.id] = acl
        self._board_changed(board_id)
        return Reply(self.acl_json(acl))

    def _acl_for(self, user: str, board_id: int, acl_id: int) -> Acl:
        acl = self.acls.get(acl_id)
        if acl is None:
            raise forbidden()
        self.board_for(user, acl.board_id, SHARE)
        return acl

    def update_acl(self, user: str, board_id: int, acl_id: int, body: Body) -> Reply:
        acl = self._acl_for(user, board_id, acl_id)
        acl.edit = bool(body.get("permissionEdit", acl.edit))
        acl.share = bool(body.get("permissionShare", acl.share))
        acl.manage = bool(body.get("permissionManage", acl.manage))
        self._board_changed(acl.board_id)
        return Reply(self.acl_json(acl))

    def delete_acl(self, user: str, board_id: int, acl_id: int) -> Reply:
        acl = self._acl_for(user, board_id, acl_id)
        del self.acls[acl.id]
        self._board_changed(acl.board_id)
        return Reply(self.acl_json(acl))

    # --- stacks ---

    def list_stacks(self, user: str, board_id: int, since: int | None = None) -> Reply:
        """Stacks with their live, unarchived cards; no ``cards`` key when none (12, 19, 34).

        ``since`` (1.17 only) keeps cards modified after it; deletions never show.
        """
        self.board_for(user, board_id)
        body = []
        for stack in self._live_stacks(board_id):
            cards = self._stack_cards(stack.id)
            if since is not None:
                cards = [card for card in cards if card.last_modified > since]
            rendered = [self.card_json(card, user, "listed") for card in cards]
            body.append(self.stack_json(stack, rendered or None))
        return Reply(body)

    def list_archived_stacks(self, user: str, board_id: int) -> Reply:
        """Every stack; ``cards`` only on stacks that hold archived cards (28)."""
        self.board_for(user, board_id)
        body = []
        for stack in self._live_stacks(board_id):
            cards = [self.card_json(c, user, "archived") for c in self._stack_cards(stack.id, True)]
            body.append(self.stack_json(stack, cards or None))
        return Reply(body)

    def get_stack(self, user: str, stack_id: int) -> Reply:
        """Not recorded: one stack with all its live cards, and an ``ETag`` header."""
        stack = self.stack_for(user, stack_id)
        cards = [self.card_json(card, user, "listed") for card in self._stack_cards(stack.id)]
        body = self.stack_json(stack, cards)
        return Reply(body, etag=body["ETag"])

    def create_stack(self, user: str, board_id: int, body: Body) -> Reply:
        title, order = body.get("title"), body.get("order")
        check(("title", title, (*TEXT, "max:100")), ("order", order, ("numeric", "not_null")))
        self._writable_board(user, board_id, MANAGE)
        return Reply(self.stack_json(self._new_stack(board_id, str(title), as_int(order))))

    def update_stack(self, user: str, stack_id: int, body: Body) -> Reply:
        """Renaming bumps only the board; the stack's own ``lastModified`` stays (39, 40)."""
        title, order = body.get("title"), body.get("order")
        check(("title", title, (*TEXT, "max:100")), ("order", order, ("numeric", "not_null")))
        stack = self.stack_for(user, stack_id, MANAGE)
        self._writable_board(user, stack.board_id, MANAGE)
        stack.title, stack.order = str(title), as_int(order)
        self._board_changed(stack.board_id)
        return Reply(self.stack_json(stack))

    def delete_stack(self, user: str, stack_id: int) -> Reply:
        stack = self.stack_for(user, stack_id, MANAGE)
        stack.deleted_at = self.now()
        self._board_changed(stack.board_id)
        return Reply(self.stack_json(stack))

    # --- labels ---

    def _label_for(self, user: str, label_id: int, permission: str) -> Label:
        label = self.labels.get(label_id)
        if label is None:
            raise forbidden()
        self.board_for(user, label.board_id, permission)
        return label

    def get_label(self, user: str, label_id: int) -> Reply:
        return Reply(self.label_json(self._label_for(user, label_id, READ)))

    def create_label(self, user: str, board_id: int, body: Body) -> Reply:
        """The answer shows ``lastModified: null``; reads show 0 (08, 26)."""
        title, color = body.get("title"), body.get("color")
        check(("title", title, (*TEXT, "max:100")), ("color", color, (*TEXT, "max:6")))
        self._writable_board(user, board_id, MANAGE)
        label = self._new_label(board_id, str(title), str(color))
        self._board_changed(board_id)
        return Reply(self.label_json(label, fresh=True))

    def update_label(self, user: str, label_id: int, body: Body) -> Reply:
        title, color = body.get("title"), body.get("color")
        check(("title", title, (*TEXT, "max:100")), ("color", color, (*TEXT, "max:6")))
        label = self._label_for(user, label_id, MANAGE)
        label.title, label.color = str(title), str(color)
        self._board_changed(label.board_id)
        return Reply(self.label_json(label))

    def delete_label(self, user: str, label_id: int) -> Reply:
        label = self._label_for(user, label_id, MANAGE)
        del self.labels[label.id]
        for card in self.cards.values():
            if label.id in card.label_ids:
                card.label_ids.remove(label.id)
        self._board_changed(label.board_id)
        return Reply(self.label_json(label))
