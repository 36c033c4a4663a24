"""Validation and creation helpers of the Nextcloud Deck test double, under its rules.

Validation follows Deck's ``BaseValidator`` (the first failing rule of the first field wins);
:class:`DeckRules` adds the creation helpers every rule shares to the read side
(:class:`.deck_model.DeckModel`). The operations are in :mod:`.deck_state` and
:mod:`.deck_card_state`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from connector.testing.deck_entities import (
    Board,
    Card,
    Label,
    Stack,
    bad_request,
    internal_error,
    status_error,
)
from connector.testing.deck_model import DeckModel

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


class DeckRules(DeckModel):
    """The model plus the helpers that create entities."""

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
