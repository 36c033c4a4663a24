"""Deck cards: the marker footer, normalised fields, and the requests one card edit takes
(the cursor a listing leaves behind is :class:`connector.deck_poll.DeckCursor`).

The canonical uid travels in a footer at the end of the card description::

    …the description…

    ---
    cohort-connector: `mim-10-app-0001`

Deck's markdown shows a thin rule and one small line; a person editing the text above it
leaves it alone, and editors that rewrite the markdown keep a rule and an inline code span.
Reading strips the footer (also the older ``<!-- cohort-uid: … -->`` form) from
``description`` and reports the uid as the record's marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.base import RemoteRecord, content_hash, cut
from connector.deck_client import BoardRef, DeckClient, owner_id
from connector.errors import NotFound, RecordRejected
from connector.i18n import _

CARD_TITLE_MAX = 255
MARKER_KEY = "cohort-connector:"
_FOOTER = re.compile(
    r"(?:\n*^[ \t]*(?:[-*_][ \t]*){3,}$)?\n*^[ \t]*"  # a thematic break, then the marker
    r"(?:cohort-connector:[ \t]*`?(?P<uid>[^`\s]+)`?"
    r"|<!--[ \t]*cohort-uid:[ \t]*(?P<old>\S+)[ \t]*-->)[ \t]*$",
    re.MULTILINE,
)


def footer(uid: str) -> str:
    """The footer that carries ``uid``."""
    return f"\n\n---\n{MARKER_KEY} `{uid}`"


def split_footer(body: str) -> tuple[str, str | None]:
    """(description without the footer, marker uid or None). Text after the footer stays."""
    found = list(_FOOTER.finditer(body))
    if not found:
        return body, None
    match = found[-1]
    uid = re.sub(r"\\(.)", r"\1", match.group("uid") or match.group("old"))
    rest = body[match.end() :]
    return body[: match.start()] + (rest if rest.strip() else ""), uid


def with_footer(description: str, marker: str | None) -> str:
    """The card description to store: the text, then the footer when there is a marker."""
    return description + footer(marker) if marker else description


def utc_text(value: Any) -> str | None:
    """A Deck date (ISO 8601, any offset) as ISO 8601 in UTC; None when empty."""
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def deck_due(value: Any) -> str | None:
    """A due date to send: UTC, or RecordRejected when it is not a date."""
    try:
        return utc_text(value)
    except (TypeError, ValueError):
        raise RecordRejected(
            _("due {value!r} is not an ISO 8601 date and time").format(value=value)
        ) from None


def cut_title(title: Any) -> str:
    """A card title Deck accepts: at most 255 characters, cut ones end in "…"."""
    text = str(title or "")
    if not text.strip():
        raise RecordRejected(_("a card needs a title"))
    return cut(text, CARD_TITLE_MAX)


def user_ids(card: Mapping[str, Any]) -> list[str]:
    """Ids of the users (not groups) assigned to a card."""
    found = set()
    for assignment in card.get("assignedUsers") or []:
        if int(assignment.get("type") or 0) == 0:
            found.add(owner_id(assignment.get("participant")))
    return sorted(found - {""})


def card_labels(card: Mapping[str, Any]) -> dict[str, int]:
    """The card's label ids by title."""
    return {str(label["title"]): int(label["id"]) for label in card.get("labels") or []}


def card_record(
    card: Mapping[str, Any], stack: str, assignees: list[str] | None = None
) -> RemoteRecord:
    """A card as a record. ``assignees`` stands in when the answer has none (archived)."""
    description, marker = split_footer(str(card.get("description") or ""))
    fields = {
        "title": str(card.get("title") or ""),
        "description": description,
        "stack": stack,
        "labels": sorted(card_labels(card)),
        "assignees": sorted(assignees) if assignees is not None else user_ids(card),
        "due": utc_text(card.get("duedate")),
        "archived": bool(card.get("archived")),
    }
    modified = card.get("lastModified")
    stamp = datetime.fromtimestamp(int(modified), UTC).isoformat() if modified else None
    etag = f"{card.get('ETag', '')}:{content_hash(fields)}"
    return RemoteRecord(str(card["id"]), fields, etag, marker, stamp)


def etag_hash(etag: str) -> str:
    """The content hash part of a record's etag (``{deck etag}:{content hash}``)."""
    return etag.rpartition(":")[2]


def put_body(card: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The full ``PUT`` body: Deck replaces the whole card, so send all of it."""
    body: dict[str, Any] = {
        "title": card["title"],
        "type": card.get("type") or "plain",
        "owner": owner_id(card.get("owner")),
        "description": card.get("description") or "",
        "duedate": card.get("duedate"),
        "order": card.get("order") or 0,
    }
    if card.get("done"):
        body["done"] = card["done"]
    body.update(changes)
    return body


@dataclass
class Edit:
    """The requests one card change takes, worked out before any is sent."""

    put: dict[str, Any] = field(default_factory=dict)
    stack: int | None = None
    add_labels: list[str] = field(default_factory=list)
    drop_labels: list[int] = field(default_factory=list)
    add_users: list[str] = field(default_factory=list)
    drop_users: list[str] = field(default_factory=list)
    archive_last: bool = False

    @property
    def noop(self) -> bool:
        """Whether the card already is as wanted."""
        return not any(vars(self).values())


def plan_edit(
    card: Mapping[str, Any],
    now: Mapping[str, Any],
    wanted: Mapping[str, Any],
    marker: str | None,
    stack: int | None,
) -> Edit:
    """What turns ``card`` (normalised as ``now``) into ``wanted``; ``stack``: target id."""
    edit = Edit(put=_scalars(card, now, wanted, marker))
    if stack is not None and stack != card.get("stackId"):
        edit.stack = stack
    labels = card_labels(card)
    want_labels = set(wanted.get("labels", labels) or [])
    edit.add_labels = sorted(want_labels - labels.keys())
    edit.drop_labels = [labels[t] for t in sorted(labels.keys() - want_labels)]
    users = set(now["assignees"])
    want_users = set(wanted.get("assignees", users) or [])
    edit.add_users, edit.drop_users = sorted(want_users - users), sorted(users - want_users)
    busy = bool(edit.stack or edit.add_labels or edit.drop_labels or edit.add_users)
    busy = busy or bool(edit.drop_users)
    archived, want = bool(card.get("archived")), bool(wanted.get("archived", card.get("archived")))
    # Deck refuses moves and assignments on archived cards: unarchive first, archive last.
    if archived and (busy or not want):
        edit.put["archived"] = False
    elif want and not archived and not busy:
        edit.put["archived"] = True
    edit.archive_last = want and busy
    return edit


def _scalars(
    card: Mapping[str, Any], now: Mapping[str, Any], wanted: Mapping[str, Any], marker: str | None
) -> dict[str, Any]:
    put: dict[str, Any] = {}
    if "title" in wanted and (title := cut_title(wanted["title"])) != card.get("title"):
        put["title"] = title
    description = str(wanted.get("description") or "")
    if "description" in wanted and description != now["description"]:
        put["description"] = with_footer(description, marker)
    if "due" in wanted and (due := deck_due(wanted["due"])) != now["due"]:
        put["duedate"] = due
    return put


class CardWriter:
    """Sends an :class:`Edit` for one card of one board, in the order Deck requires."""

    def __init__(self, client: DeckClient, board: BoardRef, label_id: Callable[[str], int]) -> None:
        self.client, self.board, self.label_id = client, board, label_id

    def apply(self, card: dict[str, Any], edit: Edit) -> dict[str, Any]:
        """Carry out ``edit``; returns the card as last answered."""
        if edit.put:
            card = self.put(card, edit.put)
        if edit.stack is not None:
            self._move(card, edit.stack)
        for title in edit.add_labels:
            self._send(card, "PUT", "/assignLabel", {"labelId": self.label_id(title)})
        for label in edit.drop_labels:
            self._send(card, "PUT", "/removeLabel", {"labelId": label})
        for uid in edit.add_users:
            self._send(card, "PUT", "/assignUser", {"userId": uid})
        for uid in edit.drop_users:
            self._send(card, "PUT", "/unassignUser", {"userId": uid}, missing_ok=True)
        if edit.archive_last:
            card = self.put(card, {"archived": True})
        return card

    def put(self, card: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT`` the whole card with ``changes``; returns the card merged with the answer."""
        answer = self._send(card, "PUT", "", put_body(card, changes))
        return {**card, **changes, **(answer if isinstance(answer, dict) else {})}

    def _move(self, card: dict[str, Any], stack: int) -> None:
        answer = self._send(card, "PUT", "/reorder", {"order": 0, "stackId": stack})
        card["stackId"] = stack
        for moved in answer if isinstance(answer, list) else []:
            if moved.get("id") == card["id"]:
                card["order"] = moved.get("order", 0)

    def _send(
        self,
        card: Mapping[str, Any],
        method: str,
        suffix: str,
        body: Any,
        *,
        missing_ok: bool = False,
    ) -> Any:
        path = f"/boards/{self.board.id}/stacks/{card['stackId']}/cards/{card['id']}{suffix}"
        response = self.client.send(method, path, body)
        if missing_ok and response.status_code == 404:
            return None
        what = _("card {card}").format(card=card["id"])
        what += f" {str(card.get('title', ''))[:60]!r}{suffix or ''}"
        return self.client.data(response, what)


def card_id(remote_id: str) -> int:
    """The card id in a record's remote id."""
    try:
        return int(remote_id)
    except ValueError:
        raise NotFound(_("{id!r} is not a Deck card id").format(id=remote_id)) from None


def stack_cards(stacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards embedded in a stack listing (an empty stack has no ``cards`` key)."""
    return [card for stack in stacks for card in stack.get("cards") or []]


def modified(card: Mapping[str, Any] | None) -> int:
    """A card's ``lastModified`` (-1 for no card)."""
    return -1 if card is None else int(card.get("lastModified") or 0)
