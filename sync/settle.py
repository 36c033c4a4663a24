"""Settling a conflict: the one implementation behind ``connector conflicts resolve`` and the
council's page in Nextcloud. The next pass writes the chosen value to both sides."""

from __future__ import annotations

from typing import Any

from connector.errors import InputError
from sync.config import Config
from sync.i18n import _
from sync.report import resolution_value
from sync.runner import check_resolution
from sync.store import Conflict, Store


def find_conflict(store: Store, conflict_id: int) -> Conflict:
    """The conflict ``conflict_id``; InputError naming the id when there is none."""
    conflict = store.conflict(conflict_id)
    if conflict is None:
        raise InputError(
            _("no conflict with id {id} (see `connector conflicts list`)").format(id=conflict_id)
        )
    return conflict


def settle(config: Config, store: Store, conflict_id: int, take: str) -> tuple[Conflict, Any]:
    """Record the choice ``take`` ('canonical', 'remote' or a value) for ``conflict_id``.

    Refuses a conflict already applied and a value the field's value map cannot carry
    (InputError); returns the conflict as it was and the value chosen.
    """
    conflict = find_conflict(store, conflict_id)
    if conflict.applied_at is not None:
        raise InputError(_("conflict {id} is already settled").format(id=conflict_id))
    value = resolution_value(conflict, take)
    check_resolution(config, conflict, value)
    store.resolve_conflict(conflict_id, value)
    return conflict, value
