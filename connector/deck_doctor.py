"""``connector doctor`` for Deck: the Nextcloud answers, the app password works, each board
exists (or will be created) with enough rights, and the groups and users it is shared with
exist.

Group and user existence is asked the way the sync asks before sharing a board
(:func:`connector.deck_shares.participant_exists`). Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connector.base import Collection, Finding, finding_from
from connector.deck_client import DeckClient, list_boards, owner_id, pick_board
from connector.deck_shares import participant_exists
from connector.errors import ConnectorError
from connector.i18n import N_, _

#: What the connector does on a board, and the Deck right each needs.
RIGHTS = {
    "PERMISSION_EDIT": N_("edit"),
    "PERMISSION_MANAGE": N_("manage"),
    "PERMISSION_SHARE": N_("share"),
}


def diagnose(client: DeckClient, collections: Sequence[Collection]) -> list[Finding]:
    """Findings for the Nextcloud behind ``client`` and each board in ``collections``."""
    where = f"Nextcloud {client.http.base_url}"
    try:
        boards = list_boards(client)[0]
    except ConnectorError as exc:
        return [finding_from(where, exc)]
    findings = [
        Finding(where, _("reachable; user {user} signed in, Deck answers").format(user=client.user))
    ]
    checked: dict[tuple[int, str], Finding] = {}
    for collection in collections:
        findings.append(_board(client, boards, collection))
        for share in collection.options.get("acl") or []:
            kind, name = (1, share["group"]) if share.get("group") else (0, share.get("user"))
            if name and (kind, name) not in checked:
                checked[kind, name] = _participant(client, kind, str(name), collection.name)
    return findings + list(checked.values())


def _board(client: DeckClient, boards: list[dict[str, Any]], collection: Collection) -> Finding:
    subject = _("board {name!r}").format(name=collection.name)
    entry = pick_board(boards, collection.name, client.user)
    if entry is None:
        return Finding(subject, _("does not exist yet; the first sync creates it"))
    if owner_id(entry.get("owner")) == client.user:
        return Finding(subject, _("exists, owned by {user}").format(user=client.user))
    permissions = entry.get("permissions") or {}
    missing = [word for key, word in RIGHTS.items() if not permissions.get(key)]
    if missing:
        return Finding(
            subject,
            _("user {user} lacks the right to {rights} it (owner {owner})").format(
                user=client.user,
                rights=_(" and ").join(_(word) for word in missing),
                owner=owner_id(entry.get("owner")),
            ),
            5,
            _("share the board with {user} with edit, share and manage rights").format(
                user=client.user
            ),
        )
    return Finding(
        subject, _("exists; user {user} may edit, share and manage it").format(user=client.user)
    )


def _participant(client: DeckClient, kind: int, name: str, board: str) -> Finding:
    subject = (
        _("group {name!r} (shares board {board!r})")
        if kind == 1
        else _("user {name!r} (shares board {board!r})")
    ).format(name=name, board=board)
    try:
        found = participant_exists(client, kind, name)
    except ConnectorError as exc:
        return finding_from(subject, exc)
    if found is None:
        return Finding(
            subject,
            (
                _("cannot be checked: user {user} may neither list groups nor search sharees")
                if kind == 1
                else _("cannot be checked: user {user} may neither list users nor search sharees")
            ).format(user=client.user),
            warning=True,
        )
    if not found:
        create = f"occ group:add {name}" if kind == 1 else f"occ user:add {name}"
        return Finding(
            subject,
            _("does not exist on Nextcloud"),
            3,
            _("create it ({create}) or correct the acl of this board in the mapping").format(
                create=create
            ),
        )
    return Finding(subject, _("exists"))
