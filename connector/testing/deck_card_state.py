"""The card rules of the Nextcloud Deck test double: cards, their labels and assigned users,
and comments (OCS), changing state the way Nextcloud 29 + Deck 1.13.10 did in the recordings
under ``tests/fixtures/nextcloud29-deck1.13/`` (step numbers in comments refer to those files).
Behaviour the recordings do not show follows Deck's source and is marked "not recorded".
"""

from __future__ import annotations

from connector.testing.deck_entities import (
    EDIT,
    Assignment,
    Card,
    Comment,
    DeckError,
    Reply,
    bad_request,
    forbidden,
    internal_error,
    status_error,
)
from connector.testing.deck_rules import (
    CARD_ARCHIVED,
    COMMENT_MAX_LENGTH,
    TEXT,
    Body,
    DeckRules,
    as_int,
    check,
    parse_date,
)


class CardRules(DeckRules):
    """The rules for cards, card labels, assignments and comments."""

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
