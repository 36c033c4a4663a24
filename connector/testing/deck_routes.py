"""The routes of the Nextcloud Deck test double: which rule of :class:`.deck_state.DeckState`
answers a request, and the request as the rules see it (:class:`Call`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from connector.testing.deck_entities import DeckError, Reply, internal_error
from connector.testing.deck_rules import as_int
from connector.testing.deck_state import DeckState


@dataclass
class Call:
    """One routed request as the rules see it."""

    user: str
    ids: dict[str, int]
    body: dict[str, Any]
    query: dict[str, str]
    headers: Message
    version: str

    def __getitem__(self, name: str) -> int:
        return self.ids[name]

    @property
    def details(self) -> bool:
        return self.query.get("details", "").lower() in ("true", "1")

    @property
    def since(self) -> int | None:
        """``If-Modified-Since``: 500 before Deck 1.17 (30, 31), a filter from 1.17 on."""
        value = (self.headers.get("If-Modified-Since") or "").strip()
        if not value:
            return None
        if self.version == "1.13":
            raise internal_error()  # sabre/http's Util class is missing in Nextcloud 29
        try:
            return int(parsedate_to_datetime(value).timestamp())
        except (TypeError, ValueError):
            raise DeckError(400, "Invalid If-Modified-Since header provided.") from None


Handler = Callable[[DeckState, Call], Reply]
_B = r"/boards/(?P<board>\d+)"
_S = _B + r"/stacks/(?P<stack>\d+)"
_C = _S + r"/cards/(?P<card>\d+)"
_L = _B + r"/labels/(?P<label>\d+)"
_A = _B + r"/acl/(?P<acl>\d+)"
DECK_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/boards", lambda s, c: s.list_boards(c.user, c.details, c.since)),
    ("POST", "/boards", lambda s, c: s.create_board(c.user, c.body)),
    ("GET", _B, lambda s, c: s.get_board(c.user, c["board"])),
    ("PUT", _B, lambda s, c: s.update_board(c.user, c["board"], c.body)),
    ("DELETE", _B, lambda s, c: s.delete_board(c.user, c["board"])),
    ("POST", _B + "/undo_delete", lambda s, c: s.undo_delete_board(c.user, c["board"])),
    ("POST", _B + "/acl", lambda s, c: s.add_acl(c.user, c["board"], c.body)),
    ("PUT", _A, lambda s, c: s.update_acl(c.user, c["board"], c["acl"], c.body)),
    ("DELETE", _A, lambda s, c: s.delete_acl(c.user, c["board"], c["acl"])),
    ("GET", _B + "/stacks", lambda s, c: s.list_stacks(c.user, c["board"], c.since)),
    ("POST", _B + "/stacks", lambda s, c: s.create_stack(c.user, c["board"], c.body)),
    ("GET", _B + "/stacks/archived", lambda s, c: s.list_archived_stacks(c.user, c["board"])),
    ("GET", _S, lambda s, c: s.get_stack(c.user, c["stack"])),
    ("PUT", _S, lambda s, c: s.update_stack(c.user, c["stack"], c.body)),
    ("DELETE", _S, lambda s, c: s.delete_stack(c.user, c["stack"])),
    ("POST", _B + "/labels", lambda s, c: s.create_label(c.user, c["board"], c.body)),
    ("GET", _L, lambda s, c: s.get_label(c.user, c["label"])),
    ("PUT", _L, lambda s, c: s.update_label(c.user, c["label"], c.body)),
    ("DELETE", _L, lambda s, c: s.delete_label(c.user, c["label"])),
    ("POST", _S + "/cards", lambda s, c: s.create_card(c.user, c["stack"], c.body)),
    ("GET", _C, lambda s, c: s.get_card(c.user, c["card"])),
    ("PUT", _C, lambda s, c: s.update_card(c.user, c["stack"], c["card"], c.body)),
    ("DELETE", _C, lambda s, c: s.delete_card(c.user, c["card"])),
    ("PUT", _C + "/reorder", lambda s, c: s.reorder_card(c.user, c["card"], c.body)),
    ("PUT", _C + "/assignLabel", lambda s, c: s.assign_label(c.user, c["card"], c.body)),
    ("PUT", _C + "/removeLabel", lambda s, c: s.remove_label(c.user, c["card"], c.body)),
    ("PUT", _C + "/assignUser", lambda s, c: s.assign_user(c.user, c["card"], c.body)),
    ("PUT", _C + "/unassignUser", lambda s, c: s.unassign_user(c.user, c["card"], c.body)),
]
_COMMENTS = r"/cards/(?P<card>\d+)/comments"
OCS_ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", _COMMENTS, lambda s, c: s.create_comment(c.user, c["card"], c.body)),
    (
        "GET",
        _COMMENTS,
        lambda s, c: s.list_comments(
            c.user, c["card"], as_int(c.query.get("limit", 20)), as_int(c.query.get("offset", 0))
        ),
    ),
]


def compile_routes(
    routes: list[tuple[str, str, Handler]],
) -> list[tuple[str, re.Pattern[str], Handler]]:
    return [(method, re.compile(f"^{path}$"), handler) for method, path, handler in routes]


DECK = compile_routes(DECK_ROUTES)
OCS = compile_routes(OCS_ROUTES)


def route(
    routes: list[tuple[str, re.Pattern[str], Handler]], method: str, path: str
) -> tuple[Handler, re.Match[str]] | None:
    for verb, pattern, handler in routes:
        match = pattern.match(path)
        if match and verb == method:
            return handler, match
    return None
