"""The apply step's commits: an item's canonical changes, conflicts, link and journal in one
transaction, and the counts of what a rule's items did."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connector.base import Collection, RemoteRecord, Target, content_hash
from mappings.paths import holder
from sync.catalog import Catalog
from sync.i18n import _
from sync.model import Entity, describe_validation_error
from sync.plan import Item, RuleView
from sync.revisions import write_checked
from sync.store import UNREAD, Link, Store


def new_uid(kind: str) -> str:
    """A fresh uid for an entity created from a platform record: random, no personal data."""
    return f"{kind}-{secrets.token_hex(5)}"


#: Called with each entity written from a remote change; returns follow-up entities to store
#: (e.g. an applicant who becomes a mentee when the application is selected).
Consequences = Callable[[Entity, Catalog], list[Entity]]
#: Called with each entity about to be written from a remote change; returns the problems
#: that forbid it (cross-entity rules such as a tandem's partners being colleagues).
Check = Callable[[Entity, Catalog], list[str]]


@dataclass
class Tally:
    """What applying one rule did."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: Records whose write failed this round: their journal entries stay for the next pass.
    failed: set[str] = field(default_factory=set)
    #: Writes the platform took (creates, updates, deletes, markers); store-only items
    #: (imports, canonical-only updates) and failed writes do not count.
    remote_writes: int = 0

    def add(self, action: str) -> None:
        """Count one applied item."""
        self.counts[action] = self.counts.get(action, 0) + 1


class Committer:
    """Writes what one item settled to the store (the base of :class:`sync.apply.Applier`)."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        view: RuleView,
        target: Target,
        collection: Collection,
        consequences: Consequences | None = None,
        tally: Tally | None = None,
        check: Check | None = None,
        *,
        uids: Callable[[str], str] = new_uid,
    ) -> None:
        self.store, self.catalog, self.view = store, catalog, view
        self.uids = uids
        self.target, self.collection = target, collection
        self.consequences = consequences
        self.check = check
        self.tally = tally if tally is not None else Tally()

    def _where(self, item: Item) -> str:
        return f"{self.view.key}: {item.uid or item.remote_id}"

    # -- committing ---------------------------------------------------------------------

    def _commit(self, item: Item, record: RemoteRecord) -> None:
        """Save canonical changes, conflicts and the link for one item, in one transaction."""
        assert item.uid is not None
        with self.store.transaction():
            self._write_canonical(item)
            for key, base, canonical, remote in item.conflicts:
                self.store.add_conflict(self.view.key, item.uid, key, base, canonical, remote)
            for conflict_id in item.closes:
                self.store.close_conflict(
                    conflict_id, read=item.resolutions_read.get(conflict_id, UNREAD)
                )
            self._settle(item.uid)
            self._save_link(item, record)

    def _settle(self, uid: str) -> None:
        """End every journal entry of ``uid`` in this rule: the commit under way settles the
        writes in flight, also those a crash left behind (merged or redone since)."""
        for entry in self.store.journal(self.view.key):
            if entry.uid == uid:
                self.store.journal_end(entry.id)

    def _save_link(self, item: Item, record: RemoteRecord) -> None:
        assert item.uid is not None
        seen: dict[str, Any] = dict(item.seen)
        seen.update(record.fields)
        link = Link(
            self.view.key,
            item.uid,
            self.view.target,
            record.remote_id,
            record.etag,
            item.base,
            seen,
            content_hash(seen),
        )
        self.store.save_link(link)

    def _write_canonical(self, item: Item) -> bool:
        """Write the item's canonical changes, all changes of one entity at once (an event
        moved on the platform changes start and end together; one at a time would pass
        through an event that ends before it starts). Returns whether any was not written
        (refused, or changed by another writer meanwhile; its old base is kept)."""
        entity = self.catalog.get(item.uid or "")
        if entity is None or not item.canonical:
            return False
        grouped: dict[str, tuple[Entity, dict[str, Any]]] = {}
        for path, value in item.canonical.items():
            owner = holder(entity, path, self.catalog)
            if owner is not None:
                grouped.setdefault(owner.uid, (owner, {}))[1][path.rsplit(".", 1)[-1]] = value
        paths_of: dict[str, list[str]] = {}
        for path in item.canonical:
            owner = holder(entity, path, self.catalog)
            if owner is not None:
                paths_of.setdefault(owner.uid, []).append(path)
        kept = False
        for owner, changes in grouped.values():
            unwritten = self._write_entity(item, owner, changes)
            if unwritten:
                paths = paths_of[owner.uid]
                self._keep_base(item, [p for p in paths if p.rsplit(".", 1)[-1] in unwritten])
                kept = True
        return kept

    def _write_entity(self, item: Item, owner: Entity, changes: dict[str, Any]) -> set[str]:
        """Write ``changes`` to ``owner``; returns the changed fields that were not written
        (refused, or changed differently by another writer of the store meanwhile)."""
        what = ", ".join(f"{name} = {value!r}" for name, value in changes.items())
        # The item's earlier writes (and their consequences) may have changed the owner.
        owner = self.catalog.get(owner.uid) or owner
        try:
            updated = owner.touched(**changes)
        except ValidationError as exc:
            details = "; ".join(f"{f}: {m}" for f, m in describe_validation_error(exc))
            item.problems.append(_("{change} refused: {why}").format(change=what, why=details))
            return set(changes)
        refused = self.check(updated, self.catalog) if self.check else []
        if refused:
            item.problems.append(
                _("{change} refused: {why}").format(change=what, why="; ".join(refused))
            )
            return set(changes)
        clashes = self._put(updated) & set(changes)
        if clashes:
            item.problems.append(
                _(
                    "{fields}: changed in the store meanwhile (by an import or a command); the "
                    "platform's value is merged again next pass"
                ).format(fields=", ".join(sorted(clashes)))
            )
        return clashes

    def _keep_base(self, item: Item, paths: list[str]) -> None:
        """A refused canonical change was not agreed: keep the old base for its fields, so
        the next pass sees the platform's value as a change again (and reports it again)
        instead of overwriting it."""
        link = self.store.links(self.view.key).get(item.uid or "")
        for key, codec in self.view.codecs.items():
            if codec.spec.canonical in paths:
                if link is not None and key in link.base:
                    item.base[key] = link.base[key]
                else:
                    item.base.pop(key, None)

    def _put(self, entity: Entity) -> set[str]:
        """Write ``entity`` and its consequences, re-merged if another writer came first;
        returns the fields of ``entity`` left as the other writer set them."""
        written, clashes = write_checked(self.store, self.catalog, entity)
        if written is not None and self.consequences is not None:
            for follow_up in self.consequences(written, self.catalog):
                write_checked(self.store, self.catalog, follow_up)
        return clashes
