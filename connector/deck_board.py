"""Deck boards made to match their collection: stacks, labels and shares, created only
where missing (:func:`open_board`).
"""

from __future__ import annotations

import logging
from typing import Any

from connector.base import Collection
from connector.deck_client import (
    BOARD_COLOR,
    LABEL_COLORS,
    TITLE_MAX,
    BoardRef,
    DeckClient,
    list_boards,
    no_access,
    pick_board,
)
from connector.deck_shares import ensure_shares, missing_participants, shares_to_add, stored_unknown
from connector.errors import ConfigError, RecordRejected
from connector.i18n import _, ngettext

log = logging.getLogger(__name__)


def load_board(client: DeckClient, board_id: int, title: str) -> dict[str, Any]:
    """``GET /boards/{b}`` (stacks, labels, ACL); a 403 means access was lost."""
    response = client.send("GET", f"/boards/{board_id}")
    if response.status_code == 403:
        raise no_access(client, title, board_id)
    what = _("reading board {title}").format(title=repr(title))
    board: dict[str, Any] = client.data(response, what, reads=True)
    return board


def open_board(client: DeckClient, collection: Collection) -> BoardRef:
    """Find or create the board, then add the stacks, labels and shares it lacks.

    Before anything is written, the users and groups of shares still to be made must exist:
    Deck 1.13 stores a share with an unknown group silently, and every assignment on the
    board then fails. An unknown one stops the rule with a :class:`ConfigError` naming it.
    """
    options = collection.options
    stacks = [str(s) for s in options.get("stacks") or []]
    labels = [str(s) for s in options.get("labels") or []]
    wanted = list(options.get("acl") or [])
    for title in [collection.name, *stacks, *labels]:
        if not title.strip() or len(title) > TITLE_MAX:
            raise ConfigError(
                _("Deck title {title!r} must have 1 to {most} characters").format(
                    title=title, most=TITLE_MAX
                )
            )
    found = pick_board(list_boards(client)[0], collection.name, client.user)
    board = None if found is None else load_board(client, int(found["id"]), collection.name)
    existing = list((board or {}).get("acl") or [])
    missing = stored_unknown(existing, wanted)
    missing += missing_participants(client, shares_to_add(client, existing, wanted))
    if missing:
        raise ConfigError(
            ngettext(
                "Deck board {title!r} is to be shared with {missing}, which Nextcloud at {url} "
                "does not know: create it there (and put the council's accounts in the group), "
                "or correct the rule's deck.acl in the mapping",
                "Deck board {title!r} is to be shared with {missing}, which Nextcloud at {url} "
                "does not know: create them there (and put the council's accounts in the group), "
                "or correct the rule's deck.acl in the mapping",
                len(missing),
            ).format(title=collection.name, missing=", ".join(missing), url=client.http.base_url)
        )
    if board is None:
        body = {"title": collection.name, "color": BOARD_COLOR}
        board = client.data(client.send("POST", "/boards", body), _("creating the board"))
        log.info("created Deck board %r (id %s)", collection.name, board["id"])
    ref = BoardRef(int(board["id"]), collection.name)
    ref.learn(board)
    _ensure_stacks(client, ref, stacks)
    _ensure_labels(client, ref, labels)
    ensure_shares(client, ref, existing, wanted)
    return ref


def _ensure_stacks(client: DeckClient, ref: BoardRef, stacks: list[str]) -> None:
    for order, title in enumerate(stacks):
        if title not in ref.stacks:
            body = {"title": title, "order": order}
            made = client.data(client.send("POST", f"/boards/{ref.id}/stacks", body), _("stack"))
            ref.stacks[title] = int(made["id"])


def _ensure_labels(client: DeckClient, ref: BoardRef, labels: list[str]) -> None:
    for title in labels:
        if title not in ref.labels:
            create_label(client, ref, title)


def create_label(client: DeckClient, ref: BoardRef, title: str) -> int:
    """Add a label to the board and remember its id."""
    if not title.strip() or len(title) > TITLE_MAX:
        raise RecordRejected(
            _("label {title!r} must have 1 to {most} characters").format(
                title=title, most=TITLE_MAX
            )
        )
    color = LABEL_COLORS[len(ref.labels) % len(LABEL_COLORS)]
    response = client.send("POST", f"/boards/{ref.id}/labels", {"title": title, "color": color})
    what = _("creating label {title}").format(title=repr(title))
    ref.labels[title] = int(client.data(response, what)["id"])
    return ref.labels[title]
