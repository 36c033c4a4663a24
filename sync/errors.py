"""The errors of the sync layer: the local store, its lock, the safety rails, pending conflicts.

They derive from the one root :class:`connector.errors.ConnectorError`, so the CLI's single
handler prints them and exits with their code.
"""

from __future__ import annotations

from connector.errors import ConnectorError
from sync.i18n import N_


class StoreError(ConnectorError):
    """The local store cannot be used (locked, newer schema, corrupt)."""

    exit_code = 4


class LockHeld(StoreError):
    """Another sync process holds the store's lock."""

    hint = N_("Another `connector sync` is running on this store; wait for it or stop it.")


class GuardTripped(ConnectorError):
    """A safety rail stopped a collection (e.g. mass deletion); the operator must decide."""

    exit_code = 6


class ConflictsPending(ConnectorError):
    """Conflicts wait for a person (`connector conflicts list`)."""

    exit_code = 7
