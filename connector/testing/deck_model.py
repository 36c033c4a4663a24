"""Entities, stores and JSON shapes of the Nextcloud Deck test double (see :mod:`.deck_server`).

Every shape here reproduces what Nextcloud 29 + Deck 1.13.10 returned in the recorded exchanges
under ``tests/fixtures/nextcloud29-deck1.13/`` (step numbers in comments refer to those files).
This module is the read side: access checks and rendering (the entities are in
:mod:`.deck_entities`). The rules that change
state live in :mod:`.deck_state`; HTTP lives in :mod:`.deck_server`.
"""

import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from connector.testing.deck_entities import (
    BOARD_SETTINGS,
    EDIT,
    MANAGE,
    READ,
    SHARE,
    Acl,
    Assignment,
    Board,
    Card,
    Comment,
    Json,
    Label,
    Stack,
    etag_of,
    forbidden,
    iso,
)

_MENTION = re.compile(r"(?<![\w@])@([\w.\-]+)")


class DeckModel:
    """All boards, stacks, labels, cards, shares, assignments and comments of one server."""

    def __init__(
        self,
        users: Mapping[str, str],
        groups: Mapping[str, Iterable[str]],
        display_names: Mapping[str, str],
        version: str,
        clock: Callable[[], float],
    ) -> None:
        self.lock = threading.RLock()
        self.passwords = dict(users)
        self.display_names = dict(display_names)
        self.groups = {gid: list(members) for gid, members in groups.items()}
        self.version = version
        self.clock = clock
        self.boards: dict[int, Board] = {}
        self.stacks: dict[int, Stack] = {}
        self.labels: dict[int, Label] = {}
        self.cards: dict[int, Card] = {}
        self.acls: dict[int, Acl] = {}
        self.assignments: dict[int, Assignment] = {}
        self.comments: dict[int, Comment] = {}
        self.read_marks: dict[tuple[str, int], int] = {}
        self.first_run_done: set[str] = set()
        self._last_id: defaultdict[str, int] = defaultdict(int)

    # --- basics ---

    def now(self) -> int:
        return int(self.clock())

    def _next_id(self, kind: str) -> int:
        self._last_id[kind] += 1
        return self._last_id[kind]

    def authenticate(self, login: str, password: str) -> bool:
        return login in self.passwords and secrets.compare_digest(self.passwords[login], password)

    def principal(self, uid: str, kind: int = 0) -> Json:
        name = uid if kind else self.display_names.get(uid, uid)
        return {"primaryKey": uid, "uid": uid, "displayname": name, "type": kind}

    # --- change propagation (Deck's ChangeHelper) ---

    def _board_changed(self, board_id: int) -> None:
        self.boards[board_id].last_modified = self.now()

    def _card_changed(
        self, card: Card, update_card: bool = True, editor: str | None = None
    ) -> None:
        """Bump the card (optionally), its current stack and its board (19, 22, 34); an
        ``editor`` (label and user assignments) becomes the card's ``lastEditor``."""
        if update_card:
            card.last_modified = self.now()
        if editor is not None:
            card.last_editor = editor
        stack = self.stacks[card.stack_id]
        stack.last_modified = self.now()
        self._board_changed(stack.board_id)

    # --- access ---

    def permissions(self, user: str, board: Board) -> dict[str, bool] | None:
        if board.owner == user:
            return {READ: True, EDIT: True, MANAGE: True, SHARE: True}
        result: dict[str, bool] | None = None
        for acl in self._board_acls(board.id):
            if (acl.type == 0 and acl.participant == user) or (
                acl.type == 1 and user in self.groups.get(acl.participant, [])
            ):
                result = result or {READ: True, EDIT: False, MANAGE: False, SHARE: False}
                result[EDIT] |= acl.edit
                result[MANAGE] |= acl.manage
                result[SHARE] |= acl.share
        return result

    def board_for(self, user: str, board_id: int, permission: str = READ) -> Board:
        board = self.boards.get(board_id)
        perms = None if board is None else self.permissions(user, board)
        if board is None or perms is None or not perms[permission]:
            raise forbidden()
        return board

    def stack_for(self, user: str, stack_id: int, permission: str = READ) -> Stack:
        stack = self.stacks.get(stack_id)
        if stack is None or stack.deleted_at:
            raise forbidden()
        self.board_for(user, stack.board_id, permission)
        return stack

    def card_for(self, user: str, card_id: int, permission: str = READ) -> Card:
        card = self.cards.get(card_id)
        if card is None:
            raise forbidden()
        self.board_for(user, self.stacks[card.stack_id].board_id, permission)
        if card.deleted_at:
            raise forbidden("Card is deleted")
        return card

    def _board_acls(self, board_id: int) -> list[Acl]:
        return [acl for acl in self.acls.values() if acl.board_id == board_id]

    def _board_labels(self, board_id: int) -> list[Label]:
        return [label for label in self.labels.values() if label.board_id == board_id]

    def _live_stacks(self, board_id: int) -> list[Stack]:
        found = [s for s in self.stacks.values() if s.board_id == board_id and not s.deleted_at]
        return sorted(found, key=lambda s: (s.order, s.id))

    def _stack_cards(self, stack_id: int, archived: bool = False) -> list[Card]:
        found = [
            c
            for c in self.cards.values()
            if c.stack_id == stack_id and c.archived == archived and not c.deleted_at
        ]
        if archived:
            return sorted(found, key=lambda c: (c.last_modified, c.id))
        return sorted(found, key=lambda c: (c.order, c.id))

    def _board_member_ids(self, board: Board) -> list[str]:
        """The owner, then every share with groups expanded into their members (26)."""
        members = [board.owner]
        for acl in self._board_acls(board.id):
            members += self.groups.get(acl.participant, []) if acl.type == 1 else [acl.participant]
        return list(dict.fromkeys(m for m in members if m in self.passwords or m == board.owner))

    def visible_boards(self, user: str) -> list[Board]:
        """Owned boards first, then boards shared with the user, then via groups (43)."""
        owned = [b for b in self.boards.values() if b.owner == user]
        direct, grouped = [], []
        for acl in sorted(self.acls.values(), key=lambda a: a.id):
            board = self.boards[acl.board_id]
            if acl.type == 0 and acl.participant == user:
                direct.append(board)
            elif acl.type == 1 and user in self.groups.get(acl.participant, []):
                grouped.append(board)
        unique = {b.id: b for b in sorted(owned, key=lambda b: b.id) + direct + grouped}
        return list(unique.values())

    # --- rendering ---

    def label_json(
        self, label: Label, card_id: int | None = None, fresh: bool = False, bare: bool = False
    ) -> Json:
        """``lastModified`` is ``null`` only in the answer that created the label (02, 08);
        ``bare`` (a card in ``/stacks/archived``) has ``boardId`` and ``lastModified`` null."""
        modified = None if fresh or bare else 0
        return {
            "id": label.id,
            "title": label.title,
            "color": label.color,
            "boardId": None if bare else label.board_id,
            "cardId": card_id,
            "lastModified": modified,
            "ETag": etag_of(modified),
        }

    def acl_json(self, acl: Acl) -> Json:
        """A share; one with a user or group that does not exist names it as a plain string."""
        known = acl.participant in (self.passwords if acl.type == 0 else self.groups)
        return {
            "id": acl.id,
            "participant": self.principal(acl.participant, acl.type) if known else acl.participant,
            "type": acl.type,
            "boardId": acl.board_id,
            "permissionEdit": acl.edit,
            "permissionShare": acl.share,
            "permissionManage": acl.manage,
            "owner": False,
        }

    def stack_json(self, stack: Stack, cards: list[Json] | None = None) -> Json:
        """A stack; ``cards`` only when given (an empty stack in a listing has no key, 12)."""
        body: dict[str, Json] = {
            "id": stack.id,
            "title": stack.title,
            "boardId": stack.board_id,
            "deletedAt": stack.deleted_at,
            "lastModified": stack.last_modified,
        }
        if cards is not None:
            body["cards"] = cards
        body.update(order=stack.order, ETag=etag_of(stack.last_modified))
        return body

    def board_json(
        self, board: Board, user: str, mode: str, last_modified: int | None = None
    ) -> Json:
        """Modes: ``list`` and ``details`` (GET /boards), ``get``, ``created`` (01-04)."""
        full = mode in ("details", "get")
        modified = 0 if mode == "created" else board.last_modified
        modified = modified if last_modified is None else last_modified
        labels = self._board_labels(board.id)
        body: dict[str, Json] = {
            "id": board.id,
            "title": board.title,
            "owner": self.principal(board.owner),
            "color": board.color,
            "archived": board.archived,
            "labels": [self.label_json(lb, fresh=mode == "created") for lb in labels]
            if mode != "list"
            else [],
            "acl": [self.acl_json(acl) for acl in self._board_acls(board.id)],
            "permissions": self.permissions(user, board),
            "users": [self.principal(uid) for uid in self._board_member_ids(board)] if full else [],
        }
        if mode in ("list", "details"):
            body["shared"] = 0 if board.owner == user else 1
        body["stacks"] = [self.stack_json(s) for s in self._live_stacks(board.id)] if full else []
        body.update(
            activeSessions=[],
            deletedAt=board.deleted_at,
            lastModified=modified,
            settings=dict(BOARD_SETTINGS) if full else [],
            ETag=etag_of(modified),
        )
        return body

    def assignment_json(self, assignment: Assignment) -> Json:
        return {
            "id": assignment.id,
            "participant": self.principal(assignment.participant, assignment.type),
            "cardId": assignment.card_id,
            "type": assignment.type,
        }

    def overdue(self, card: Card) -> int:
        """0 future, 1 tomorrow, 2 today, 3 overdue, by calendar day in UTC (12, 46)."""
        if card.duedate is None:
            return 0
        today = datetime.fromtimestamp(self.now(), UTC).date()
        days = (card.duedate.date() - today).days
        return 3 if days < 0 else {0: 2, 1: 1}.get(days, 0)

    def card_json(self, card: Card, user: str, mode: str) -> Json:
        """One card in the shape of the endpoint that returns it.

        ``raw`` (POST card, reorder, 09/18), ``archived`` (/stacks/archived, 28) and
        ``written`` (PUT/DELETE card, 14b/32) carry the write-only fields; ``listed``
        (/stacks, 12) and ``single`` (GET card, 13) carry ``overdue`` instead.
        """
        read = mode in ("listed", "single")
        bare = mode == "archived"
        labels: Json = [self.label_json(self.labels[i], card.id, bare=bare) for i in card.label_ids]
        if mode == "raw" or (mode == "archived" and not labels):
            labels = None
        assigned: Json = None
        if read:
            found = [a for a in self.assignments.values() if a.card_id == card.id]
            assigned = [self.assignment_json(a) for a in sorted(found, key=lambda a: a.id)]
        comments = [c for c in self.comments.values() if c.card_id == card.id]
        mark = self.read_marks.get((user, card.id), 0)
        unread = sum(1 for c in comments if c.actor != user and c.id > mark)
        body: dict[str, Json] = {"id": card.id, "title": card.title}
        body["description"] = card.description
        if not read:
            body["descriptionPrev"] = card.description_prev
        body.update(
            stackId=card.stack_id,
            type=card.type,
            lastModified=card.last_modified,
            lastEditor=card.last_editor,
            createdAt=card.created_at,
            labels=labels,
            assignedUsers=assigned,
            attachments=[] if mode == "single" else None,
            attachmentCount=0 if mode in ("listed", "single", "archived") else None,
            owner=card.owner if mode in ("raw", "archived") else self.principal(card.owner),
            order=card.order,
            archived=card.archived,
            done=None if card.done is None else iso(card.done),
            duedate=None if card.duedate is None else iso(card.duedate),
        )
        if not read:
            body["notified"] = False
        body.update(
            deletedAt=card.deleted_at,
            commentsUnread=unread if read else 0,
            commentsCount=len(comments) if read else 0,
        )
        if not read:
            body.update(relatedStack=None, relatedBoard=None)
        body["ETag"] = etag_of(card.last_modified)
        if read:
            body["overdue"] = self.overdue(card)
        return body

    def comment_json(self, comment: Comment) -> Json:
        mentions = [
            {
                "mentionId": uid,
                "mentionType": "user",
                "mentionDisplayName": self.principal(uid)["displayname"],
            }
            for uid in dict.fromkeys(_MENTION.findall(comment.message))
            if uid in self.passwords
        ]
        return {
            "id": comment.id,
            "objectId": comment.card_id,
            "message": comment.message,
            "actorId": comment.actor,
            "actorType": "users",
            "actorDisplayName": self.principal(comment.actor)["displayname"],
            "creationDateTime": iso(datetime.fromtimestamp(comment.created, UTC)),
            "mentions": mentions,
        }
