"""Entities, errors and small helpers of the Nextcloud Deck test double (see :mod:`.deck_server`).

Every shape here reproduces what Nextcloud 29 + Deck 1.13.10 returned in the recorded exchanges
under ``tests/fixtures/nextcloud29-deck1.13/`` (step numbers in comments refer to those files).
The read side (access checks, rendering) is :mod:`.deck_model`; the rules that change state
live in :mod:`.deck_state`; HTTP lives in :mod:`.deck_server`.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = Any
READ, EDIT, MANAGE, SHARE = (
    "PERMISSION_READ",
    "PERMISSION_EDIT",
    "PERMISSION_MANAGE",
    "PERMISSION_SHARE",
)
DEFAULT_LABELS = (
    ("Finished", "31CC7C"),
    ("To review", "317CCC"),
    ("Action needed", "FF7A66"),
    ("Later", "F1DB50"),
)
BOARD_SETTINGS = {"notify-due": "assigned", "calendar": True}


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def etag_of(last_modified: int | None) -> str:
    """Deck's entity ETag: md5 of ``lastModified`` as decimal text (``null`` hashes ``""``)."""
    return md5_hex("" if last_modified is None else str(last_modified))


def iso(moment: datetime) -> str:
    """PHP ``DateTime::format('c')`` in UTC, the way Deck returns dates (09)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class DeckError(Exception):
    """An error answer: ``{"status": N, "message": "..."}`` unless ``body`` says otherwise."""

    def __init__(self, status: int, message: str, body: Json = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = {"status": status, "message": message} if body is None else body


def bad_request(message: str) -> DeckError:
    return DeckError(400, message)


def forbidden(message: str = "Permission denied") -> DeckError:
    """Deck answers 403, never 404, for ids that do not exist or are not visible (35)."""
    return DeckError(403, message)


def internal_error() -> DeckError:
    """The generic 500 of Deck's exception middleware in non-debug mode (30, 31)."""
    request_id = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(20))
    message = (
        "Internal server error: Please contact the server administrator if this error "
        f'reappears multiple times, please include the request ID "{request_id}" below in '
        "your report."
    )
    return DeckError(500, message, {"status": 500, "message": message, "requestId": request_id})


def status_error(message: str) -> DeckError:
    """Deck's ``StatusException``: status 500 with a specific message (not recorded)."""
    return DeckError(500, message)


@dataclass
class Reply:
    """A successful answer; ``etag`` (unquoted) is sent as the ``ETag`` header."""

    body: Json = None
    status: int = 200
    etag: str | None = None


@dataclass
class Board:
    id: int
    title: str
    owner: str
    color: str
    archived: bool = False
    deleted_at: int = 0
    last_modified: int = 0


@dataclass
class Stack:
    id: int
    board_id: int
    title: str
    order: int
    deleted_at: int = 0
    last_modified: int = 0


@dataclass
class Label:
    id: int
    board_id: int
    title: str
    color: str


@dataclass
class Acl:
    id: int
    board_id: int
    type: int
    participant: str
    edit: bool
    share: bool
    manage: bool


@dataclass
class Card:
    id: int
    stack_id: int
    title: str
    type: str
    owner: str
    order: int
    created_at: int
    last_modified: int
    description: str = ""
    description_prev: str | None = None
    last_editor: str | None = None
    archived: bool = False
    done: datetime | None = None
    duedate: datetime | None = None
    deleted_at: int = 0
    label_ids: list[int] = field(default_factory=list)


@dataclass
class Assignment:
    id: int
    card_id: int
    participant: str
    type: int


@dataclass
class Comment:
    id: int
    card_id: int
    actor: str
    message: str
    created: int
