"""Who a Deck board is shared with: the shares a board lacks, and whether Nextcloud knows
the users and groups a mapping names (for the sync and for ``connector doctor``).

Existence is asked of the OCS provisioning API, which answers admins and group admins; for
other accounts the sharing search (exact matches) decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connector.deck_client import BoardRef, DeckClient, owner_id
from connector.errors import Fatal
from connector.i18n import _


def share_key(share: Mapping[str, Any]) -> tuple[int, str]:
    """(Deck share type, participant) of a mapping's share: 0 a user, 1 a group."""
    return (1, str(share["group"])) if share.get("group") else (0, str(share.get("user") or ""))


def _label(key: tuple[int, str]) -> str:
    return (_("group {name!r}") if key[0] else _("user {name!r}")).format(name=key[1])


def shares_to_add(
    client: DeckClient, existing: list[Any], wanted: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    have = {(int(a.get("type", 0)), owner_id(a.get("participant"))) for a in existing}
    have.add((0, client.user))
    todo: dict[tuple[int, str], Mapping[str, Any]] = {}
    for share in wanted:
        key = share_key(share)
        if key[1] and key not in have:
            todo.setdefault(key, share)
    return list(todo.values())


def stored_unknown(existing: list[Any], wanted: list[Mapping[str, Any]]) -> list[str]:
    """Shares the mapping names that the board already has with an unknown participant
    (Deck then shows the participant as a plain string instead of a user or group)."""
    unknown = {
        (int(a.get("type", 0)), a["participant"])
        for a in existing
        if isinstance(a.get("participant"), str)
    }
    return [_label(k) for k in dict.fromkeys(share_key(s) for s in wanted) if k in unknown]


def missing_participants(client: DeckClient, shares: list[Mapping[str, Any]]) -> list[str]:
    """The users and groups of ``shares`` (mapping ``acl`` entries) Nextcloud does not know,
    as ``"group 'beirat'"``; one request each (two for an account that is no admin)."""
    missing = []
    for key in dict.fromkeys(share_key(s) for s in shares if share_key(s)[1]):
        found = participant_exists(client, *key)
        if found is None:
            raise Fatal(
                _("cannot tell whether {participant} exists on Nextcloud").format(
                    participant=_label(key)
                )
            )
        if not found:
            missing.append(_label(key))
    return missing


def participant_exists(client: DeckClient, kind: int, name: str) -> bool | None:
    """Whether Nextcloud knows the group (``kind`` 1) or user (0) ``name``; None when this
    account may neither ask the provisioning API nor search sharees."""
    if kind == 1:
        status, data = client.ocs("/cloud/groups", {"search": name, "limit": 50})
        if status == 200 and isinstance(data, Mapping):
            return name in (data.get("groups") or [])
    else:
        status, data = client.ocs(f"/cloud/users/{quote(name, safe='')}", {})
        if status == 200:
            return True
        if status == 404:
            return False
    params = {"search": name, "itemType": "file", "shareType[]": kind, "lookup": "false"}
    status, data = client.ocs("/apps/files_sharing/api/v1/sharees", params)
    if status != 200 or not isinstance(data, Mapping):
        return None
    found = (data.get("exact") or {}).get("groups" if kind else "users") or []
    return any(str((f.get("value") or {}).get("shareWith")) == name for f in found)


def ensure_shares(
    client: DeckClient, ref: BoardRef, existing: list[Any], wanted: list[Mapping[str, Any]]
) -> None:
    """POST each share the board lacks, once (Deck answers a repeated one with 500)."""
    for share in shares_to_add(client, existing, wanted):
        kind, participant = share_key(share)
        body = {
            "type": kind,
            "participant": participant,
            "permissionEdit": bool(share.get("edit", True)),
            "permissionShare": bool(share.get("share", False)),
            "permissionManage": bool(share.get("manage", False)),
        }
        response = client.send("POST", f"/boards/{ref.id}/acl", body)
        what = _("sharing board {title} with {participant}")
        client.data(response, what.format(title=repr(ref.title), participant=participant))
