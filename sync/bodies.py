"""The store as the place where a target keeps the raw text of its records (issue 14).

A CalDAV event carries what other clients put there (alarms, properties the mapping does not
know); a push must merge into that text. Kept here from every listing and write, it spares
the read before each write: the push sends ``If-Match`` with the etag the text was seen with,
so a text that is no longer current makes the write fail (412), never overwrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connector.base import Target
from sync.store import Store


class StoredBodies:
    """:class:`connector.base.Bodies` of one target, kept in the store."""

    def __init__(self, store: Store, target: str) -> None:
        self.store, self.target = store, target

    def body(self, remote_id: str) -> tuple[str, bytes] | None:
        """(etag, raw text) last seen of ``remote_id``, or None."""
        return self.store.body(self.target, remote_id)

    def save(self, bodies: Iterable[tuple[str, str, bytes]]) -> None:
        """Keep (remote id, etag, raw text) per record."""
        self.store.save_bodies(self.target, bodies)

    def drop(self, remote_ids: Iterable[str]) -> None:
        """Forget records that are gone."""
        self.store.drop_bodies(self.target, remote_ids)


def attach(store: Store, targets: Mapping[str, Target]) -> None:
    """Give every target that keeps record texts its place in the store."""
    for name, target in targets.items():
        if target.keeps_bodies:
            target.bodies = StoredBodies(store, name)
