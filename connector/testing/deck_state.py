"""The rules of the Nextcloud Deck test double: every operation the REST and OCS APIs offer.

Each method takes the acting user and the request data and returns a :class:`Reply` (or raises
:class:`DeckError`), changing state the way Nextcloud 29 + Deck 1.13.10 did in the recordings
under ``tests/fixtures/nextcloud29-deck1.13/`` (step numbers in comments refer to those files).
Behaviour the recordings do not show follows Deck's source and is marked "not recorded".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connector.testing.deck_model import (
    EDIT,
    MANAGE,
    READ,
    SHARE,
    Acl,
    Assignment,
    Board,
    Card,
    Comment,
    DeckError,
    DeckModel,
    Json,
    Label,
    Reply,
    Stack,
    bad_request,
    forbidden,
    internal_error,
    md5_hex,
    status_error,
)

Body = dict[str, Any]
COMMENT_MAX_LENGTH = 1000
_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
TEXT = ("not_empty", "not_null", "not_false")
CARD_ARCHIVED = "Operation not allowed. This card is archived."
BOARD_ARCHIVED = "Operation not allowed. This board is archived."


# --- validation (Deck's BaseValidator: the first failing rule of the first field wins) ---


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMERIC.match(value))


def _not_empty(value: Any) -> bool:
    if value == "0":
        return True
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


_RULES: dict[str, Callable[[Any], bool]] = {
    "numeric": _is_numeric,
    "not_empty": _not_empty,
    "not_null": lambda value: value is not None,
    "not_false": lambda value: value is not False and value != "false",
    "bool": lambda value: isinstance(value, bool),
}


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        return len(value)
    return 0 if value is None else len(str(value))


def check(*fields: tuple[str, Any, tuple[str, ...]]) -> None:
    """Raise the 400 Deck raises for the first rule that fails, with its exact wording (10, 11)."""
    for name, value, rules in fields:
        for rule in rules:
            if rule.startswith("max:"):
                limit = int(rule[4:])
                if _size(value) > limit:
                    raise bad_request(f"{name} cannot be longer than {limit} characters ")
            elif not _RULES[rule](value):
                raise bad_request(f"{name} must be provided and must be {rule.replace('_', ' ')}")


def as_int(value: Any) -> int:
    return int(float(value)) if isinstance(value, str) else int(value)


def parse_date(value: Any) -> datetime | None:
    """PHP ``new DateTime($value)``: anything unparsable is an uncaught exception, so 500.

    Deck 1.13 stores the wall time and reads it back as UTC: an offset is dropped
    (``12:00:00+01:00`` comes back as ``12:00:00+00:00``), so clients must send UTC.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise internal_error()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise internal_error() from None
    return moment.replace(tzinfo=UTC)


class DeckState(DeckModel):
    """The model plus every state-changing rule."""

    # --- creation helpers ---

    def first_run(self, user: str) -> None:
        """A user's first Deck request creates their "Personal" board with samples (01, 43)."""
        if user in self.first_run_done:
            return
        self.first_run_done.add(user)
        board = self._new_board("Personal", user, "0087C5")
        stacks = [self._new_stack(board.id, title, 1) for title in ("To do", "Doing", "Done")]
        titles = ("Example Task 3", "Example Task 2", "Example Task 1")
        for stack, title in zip(stacks, titles, strict=True):
            self._new_card(stack, title, "text", 0, user, "", None)

    def _new_board(self, title: str, owner: str, color: str) -> Board:
        """New boards get the four default labels (02); the board is bumped, the answer not."""
        board = Board(self._next_id("board"), title, owner, color)
        self.boards[board.id] = board
        for label_title, label_color in (
            ("Finished", "31CC7C"),
            ("To review", "317CCC"),
            ("Action needed", "FF7A66"),
            ("Later", "F1DB50"),
        ):
            self._new_label(board.id, label_title, label_color)
        self._board_changed(board.id)
        return board

    def _new_label(self, board_id: int, title: str, color: str) -> Label:
        label = Label(self._next_id("label"), board_id, title, color)
        self.labels[label.id] = label
        return label

    def _new_stack(self, board_id: int, title: str, order: int) -> Stack:
        """A new stack keeps ``lastModified`` 0 until a card in it changes (05, 12)."""
        stack = Stack(self._next_id("stack"), board_id, title, order)
        self.stacks[stack.id] = stack
        self._board_changed(board_id)
        return stack

    def _new_card(
        self,
        stack: Stack,
        title: str,
        kind: str,
        order: int,
        owner: str,
        description: str,
        duedate: datetime | None,
    ) -> Card:
        now = self.now()
        card = Card(self._next_id("card"), stack.id, title, kind, owner, order, now, now)
        card.description, card.duedate = description, duedate
        self.cards[card.id] = card
        self._card_changed(card, update_card=False)
        return card

    def _writable_board(self, user: str, board_id: int, permission: str) -> Board:
        board = self.board_for(user, board_id, permission)
        if board.archived:
            raise status_error(BOARD_ARCHIVED)
        return board

    # --- boards ---

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

    # --- cards ---

    def create_card(self, user: str, stack_id: int, body: Body) -> Reply:
        """Owner string, ``labels``/``assignedUsers`` null, ``lastEditor`` null (09, 10, 11)."""
        title, kind = body.get("title"), body.get("type", "plain")
        order = body.get("order", 999)
        check(
            ("title", title, (*TEXT, "max:255")),
            ("stackId", stack_id, ("numeric",)),
            ("type", kind, (*TEXT, "max:64")),
            ("order", order, ("numeric",)),
        )
        stack = self.stack_for(user, stack_id, EDIT)
        self._writable_board(user, stack.board_id, EDIT)
        duedate = parse_date(body.get("duedate"))
        description = body.get("description") or ""
        card = self._new_card(
            stack, str(title), str(kind), as_int(order), user, str(description), duedate
        )
        for label_id in body.get("labels") or []:
            self._assign_label(card, as_int(label_id))
        for uid in body.get("users") or []:
            self._assign_user(card, str(uid), 0)
        return Reply(self.card_json(card, user, "raw"))

    def get_card(self, user: str, card_id: int) -> Reply:
        """GET card: ``ETag`` header equals the body's field; deleted card: 403 (13, 33)."""
        body = self.card_json(self.card_for(user, card_id), user, "single")
        return Reply(body, etag=body["ETag"])

    def update_card(self, user: str, stack_id: int, card_id: int, body: Body) -> Reply:
        """PUT replaces the whole card (14b-17, 27b, 45, 47).

        Omitted ``description`` becomes "" and omitted ``duedate`` null. The stack in the URL
        becomes the card's stack. ``descriptionPrev`` and ``lastEditor`` follow Deck: another
        user's edit starts a new "session" (45); otherwise the answer still shows the old
        ``lastEditor`` while the stored one becomes the editor (14b/14c, 47/48).
        """
        title, kind, owner = body.get("title"), body.get("type"), body.get("owner")
        order = body.get("order", 0)
        check(
            ("id", card_id, ("numeric",)),
            ("title", title, (*TEXT, "max:255")),
            ("stackId", stack_id, ("numeric",)),
            ("type", kind, (*TEXT, "max:64")),
            ("owner", owner, (*TEXT, "max:64")),
            ("order", order, ("numeric",)),
        )
        card = self.card_for(user, card_id, EDIT)
        self.stack_for(user, stack_id, EDIT)
        self._writable_board(user, self.stacks[card.stack_id].board_id, EDIT)
        archived = body.get("archived")
        if archived is True and card.archived:
            raise status_error(CARD_ARCHIVED)
        duedate, done = parse_date(body.get("duedate")), parse_date(body.get("done"))
        if card.last_editor is not None and card.last_editor != user:
            card.description_prev, card.last_editor = card.description, user
        card.title, card.stack_id, card.type = str(title), stack_id, str(kind)
        card.order, card.owner, card.duedate, card.done = as_int(order), str(owner), duedate, done
        if archived is not None:
            card.archived = bool(archived)
        if card.description_prev is None:
            card.description_prev = card.description
        card.description = str(body.get("description") or "")
        self._card_changed(card)
        reply = Reply(self.card_json(card, user, "written"))
        card.last_editor = user
        return reply

    def delete_card(self, user: str, card_id: int) -> Reply:
        """Soft delete: the answer carries ``deletedAt``; stack and board are bumped (32)."""
        card = self.card_for(user, card_id, EDIT)
        card.deleted_at = card.last_modified = self.now()
        self._card_changed(card, update_card=False)
        return Reply(self.card_json(card, user, "written"))

    def reorder_card(self, user: str, card_id: int, body: Body) -> Reply:
        """Move a card; the answer lists the target stack's cards in raw shape (18, 19).

        Deck compares the moved card's id (an int) with the route's id (a string), so the
        moved card is never recognised: every card of the target stack is renumbered from 0
        upwards, skipping the requested position. Requested order 0 thus ends up as 1.
        """
        stack_id, order = body.get("stackId"), body.get("order")
        check(
            ("id", card_id, ("numeric",)),
            ("stackId", stack_id, ("numeric",)),
            ("order", order, ("numeric",)),
        )
        card = self.card_for(user, card_id, EDIT)
        target = self.stack_for(user, as_int(stack_id), EDIT)
        self._writable_board(user, self.stacks[card.stack_id].board_id, EDIT)
        if card.archived:
            raise status_error(CARD_ARCHIVED)
        card.stack_id, card.last_modified = target.id, self.now()
        position = 0
        result = []
        for other in self._stack_cards(target.id):
            if isinstance(order, int) and not isinstance(order, bool) and position == order:
                position += 1
            other.order, other.last_modified = position, self.now()
            position += 1
            result.append(self.card_json(other, user, "raw"))
        self._card_changed(card, update_card=False)
        return Reply(result)

    def _editable_card(self, user: str, card_id: int) -> Card:
        card = self.card_for(user, card_id, EDIT)
        self._writable_board(user, self.stacks[card.stack_id].board_id, EDIT)
        if card.archived:
            raise status_error(CARD_ARCHIVED)
        return card

    def _assign_label(self, card: Card, label_id: int, editor: str | None = None) -> None:
        label = self.labels.get(label_id)
        if label is None:
            raise forbidden()
        if label.board_id != self.stacks[card.stack_id].board_id:
            raise status_error("Operation not allowed. Label does not exist.")  # not recorded
        card.label_ids.append(label_id)  # twice if assigned twice, as Deck 1.13 does
        self._card_changed(card, editor=editor)

    def assign_label(self, user: str, card_id: int, body: Body) -> Reply:
        """Answers JSON ``null``; bumps card, stack and board (20)."""
        label_id = body.get("labelId")
        check(("labelId", label_id, ("numeric",)))
        self._assign_label(self._editable_card(user, card_id), as_int(label_id), user)
        return Reply(None)

    def remove_label(self, user: str, card_id: int, body: Body) -> Reply:
        """Answers JSON ``null``, also when the label was not assigned (23)."""
        label_id = body.get("labelId")
        check(("labelId", label_id, ("numeric",)))
        card = self._editable_card(user, card_id)
        label = self.labels.get(as_int(label_id))
        if label is None:
            raise forbidden()
        if label.board_id != self.stacks[card.stack_id].board_id:
            raise status_error("Operation not allowed. Label does not exist.")
        while label.id in card.label_ids:
            card.label_ids.remove(label.id)
        self._card_changed(card, editor=user)
        return Reply(None)

    def _assign_user(
        self, card: Card, uid: str, kind: int, editor: str | None = None
    ) -> Assignment:
        board = self.boards[self.stacks[card.stack_id].board_id]
        members = self._board_member_ids(board) if kind == 0 else list(self.groups)
        if uid not in members:
            raise bad_request("The user is not part of the board")  # not recorded
        for existing in self.assignments.values():
            if existing.card_id == card.id and existing.participant == uid:
                raise bad_request("The user is already assigned to the card")  # not recorded
        assignment = Assignment(self._next_id("assignment"), card.id, uid, kind)
        self.assignments[assignment.id] = assignment
        self._card_changed(card, editor=editor)
        return assignment

    def assign_user(self, user: str, card_id: int, body: Body) -> Reply:
        """Answers the assignment ``{id, participant, cardId, type}`` (21)."""
        uid, kind = body.get("userId"), body.get("type", 0)
        check(("userId", uid, TEXT), ("type", kind, ("numeric",)))
        card = self._editable_card(user, card_id)
        assignment = self._assign_user(card, str(uid), as_int(kind), user)
        return Reply(self.assignment_json(assignment))

    def unassign_user(self, user: str, card_id: int, body: Body) -> Reply:
        """Answers the removed assignment (24); archived cards too (unlike assigning)."""
        uid = body.get("userId")
        check(("userId", uid, TEXT))
        card = self.card_for(user, card_id, EDIT)
        self._writable_board(user, self.stacks[card.stack_id].board_id, EDIT)
        for assignment in list(self.assignments.values()):
            if assignment.card_id == card.id and assignment.participant == uid:
                del self.assignments[assignment.id]
                self._card_changed(card, editor=user)
                return Reply(self.assignment_json(assignment))
        raise DeckError(404, f"No assignment for {uid}found.")  # not recorded

    # --- comments (OCS) ---

    def create_comment(self, user: str, card_id: int, body: Body) -> Reply:
        """Comments bump nothing but count in ``commentsCount`` (37, 46).

        The commenter becomes the card's stored ``lastEditor``: that is the only way to
        explain step 45, where bob's first edit of a card admin had commented on showed
        ``lastEditor: bob`` at once (inferred, Deck's code does not show it).
        """
        card = self.card_for(user, card_id)
        message = body.get("message")
        if not isinstance(message, str):
            raise internal_error()  # a missing message is a TypeError in Deck 1.13
        if len(message) > COMMENT_MAX_LENGTH:  # an empty one is stored
            raise bad_request(f"Message exceeds allowed character limit of {COMMENT_MAX_LENGTH}")
        comment = Comment(self._next_id("comment"), card.id, user, message, self.now())
        self.comments[comment.id] = comment
        card.last_editor = user
        return Reply(self.comment_json(comment))

    def list_comments(self, user: str, card_id: int, limit: int = 20, offset: int = 0) -> Reply:
        """Newest first (38); reading marks them as read for ``commentsUnread``."""
        card = self.card_for(user, card_id)
        found = sorted(
            (c for c in self.comments.values() if c.card_id == card.id),
            key=lambda c: c.id,
            reverse=True,
        )
        if found:
            self.read_marks[(user, card.id)] = found[0].id
        return Reply([self.comment_json(c) for c in found[offset : offset + limit]])
