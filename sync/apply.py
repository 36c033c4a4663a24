"""Step 4 of a pass: carry out planned items, one committed transaction per item.

Every remote write is journalled before it is sent and the journal entry is closed in the same
transaction that saves the link, the base and any canonical change. A crash between the write
and that commit leaves the entry behind; the next pass finds the record by its marker and
adopts it (no duplicate), and the three-way merge sees that both sides already agree (no lost
edit).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connector.base import Collection, RemoteRecord, Target, content_hash
from connector.errors import NotFound, PreconditionFailed, RecordRejected
from mappings.paths import Embargoed, holder
from sync.catalog import Catalog
from sync.model import Entity, Person, describe_validation_error, entity_type
from sync.plan import DETACHED, Held, Item, RuleView, held_base
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


class Applier:
    """Applies one rule's items against its target and the store."""

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

    def apply(self, item: Item) -> None:
        """Carry out one item; record-level failures become problems, others propagate."""
        try:
            getattr(self, f"_{item.action}")(item)
        except (RecordRejected, NotFound) as exc:
            self.tally.problems.append(f"{self._where(item)}: {exc}")
            self.tally.failed.add(item.uid or "")
            return
        self.tally.problems.extend(f"{self._where(item)}: {p}" for p in item.problems)
        merged = item.action in ("update", "adopt")
        if not merged or item.remote or item.canonical or item.closes or item.mark:
            self.tally.add(item.action)
        for _ in item.conflicts:
            self.tally.add("conflict")

    def _where(self, item: Item) -> str:
        return f"{self.view.key}: {item.uid or item.remote_id}"

    # -- actions ------------------------------------------------------------------------

    def _create(self, item: Item) -> None:
        assert item.uid is not None
        if item.heal:
            found = self.target.find_marker(self.collection, item.uid)
            if found is not None:
                # Our earlier create landed, perhaps only in part: link what is there and
                # let the next pass merge (and write any missing step) from that.
                intended = self._intended(item.uid) or item.base
                item.base = held_base(self.view, intended, found, self.catalog)
                item.seen, item.canonical = dict(found.fields), {}
                self._commit(item, found)
                return
        self.store.journal_begin(self.view.key, item.uid, "create", None, {"base": item.base})
        record = self.target.create(self.collection, item.uid, item.remote)
        self.tally.remote_writes += 1
        self._commit(item, record)

    def _intended(self, uid: str) -> dict[str, Any] | None:
        """The base the journal says our unfinished create of ``uid`` meant to write."""
        for entry in self.store.journal(self.view.key):
            if entry.uid == uid and entry.op == "create":
                return dict(entry.intent.get("base", {}))
        return None

    def _restore(self, item: Item) -> None:
        assert item.uid is not None
        self.store.drop_link(self.view.key, item.uid)
        item.heal = False
        self._create(item)

    def _update(self, item: Item) -> None:
        assert item.uid is not None and item.remote_id is not None
        if not item.remote:
            record = RemoteRecord(item.remote_id, item.seen, item.etag, item.uid)
            self._commit(item, record)
            self._mark(item, record)
            return
        entry = self.store.journal_begin(
            self.view.key, item.uid, "update", item.remote_id, {"base": item.base}
        )
        try:
            record = self.target.update(self.collection, item.remote_id, item.remote, item.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            self._changed_meanwhile(item, entry)
            return
        except RecordRejected:
            self._keep_what_is_known(item)
            raise
        self._commit(item, record)
        self._mark(item, record)

    _adopt = _update

    def _keep_what_is_known(self, item: Item) -> None:
        """The platform refused (part of) a write: commit what is known anyway.

        A write may take several requests (a Deck card: the card, then each label and
        assignee), so after a refusal the fields we wrote are unknown: their base stays what
        the platform was known to hold, and later passes write them again. Everything else
        is committed: canonical changes taken from the platform, agreed fields, conflicts.
        For a record of our own half-finished create this links it as the platform holds it.
        """
        assert item.uid is not None and item.remote_id is not None
        held = item.held or Held({}, dict(item.seen), item.etag)
        unknown = set()
        for key, codec in self.view.codecs.items():
            if codec.spec.remote in item.remote:
                unknown.add(key)
                if key in held.base:
                    item.base[key] = held.base[key]
                else:
                    item.base.pop(key, None)
        still_open = set()
        for conflict_id in item.closes:
            conflict = self.store.conflict(conflict_id)
            if conflict is not None and conflict.field in unknown:
                still_open.add(conflict_id)  # its resolution did not reach the platform yet
        item.closes = [c for c in item.closes if c not in still_open]
        item.seen = dict(held.seen)
        self._commit(item, RemoteRecord(item.remote_id, held.seen, held.etag, item.uid))

    def _changed_meanwhile(self, item: Item, entry: int) -> None:
        """Someone edited the record while we planned: keep the old base, see it fresh."""
        assert item.uid is not None and item.remote_id is not None
        fresh = self.target.get(self.collection, item.remote_id)
        links = self.store.links(self.view.key)
        old = links.get(item.uid)
        with self.store.transaction():
            if old is not None:
                old.seen, old.remote_etag = dict(fresh.fields), fresh.etag
                self.store.save_link(old)
            self.store.journal_end(entry)
        self.tally.problems.append(
            f"{self._where(item)}: changed on {self.view.target} meanwhile; merged next pass"
        )
        item.remote, item.canonical, item.conflicts, item.closes = {}, {}, [], []

    def _delete(self, item: Item) -> None:
        assert item.remote_id is not None and item.uid is not None
        self.store.journal_begin(self.view.key, item.uid, "delete", item.remote_id, {})
        try:
            self.target.delete(self.collection, item.remote_id, item.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            self.target.delete(self.collection, item.remote_id, None)
            self.tally.remote_writes += 1
        with self.store.transaction():
            self._drop_link_of(item)
            self._settle(item.uid)

    def _drop_link_of(self, item: Item) -> None:
        links = self.store.links(self.view.key)
        link = links.get(item.uid or "")
        if link is not None and link.remote_id == item.remote_id:
            self.store.drop_link(self.view.key, link.uid)

    def _unlink(self, item: Item) -> None:
        assert item.uid is not None
        with self.store.transaction():
            self.store.drop_link(self.view.key, item.uid)
            self._settle(item.uid)

    def _detach(self, item: Item) -> None:
        assert item.uid is not None
        link = Link(
            self.view.key, item.uid, self.view.target, DETACHED + item.uid, None, {}, {}, ""
        )
        self.store.save_link(link)

    def _tombstone(self, item: Item) -> None:
        assert item.uid is not None
        with self.store.transaction():
            self.store.tombstone(item.uid)
            self.store.drop_link(self.view.key, item.uid)
        self.catalog.remove(item.uid)

    def _opt_out(self, item: Item) -> None:
        assert item.uid is not None
        person = self.catalog.get(item.uid)
        with self.store.transaction():
            if isinstance(person, Person):
                updated = person.touched(opt_outs=person.opt_outs | {self.collection.name})
                self._put(updated)
            self.store.drop_link(self.view.key, item.uid)

    def _import(self, item: Item) -> None:
        assert item.remote_id is not None
        kind = self.view.rule.entity
        uid = self.uids(kind)
        try:
            entity = entity_type(kind).model_validate({"uid": uid, **item.canonical})
        except ValidationError as exc:
            details = "; ".join(f"{f}: {m}" for f, m in describe_validation_error(exc))
            raise RecordRejected(f"cannot become a {kind}: {details}") from None
        refused = self.check(entity, self.catalog) if self.check else []
        if refused:
            raise RecordRejected(f"cannot become a {kind}: {'; '.join(refused)}")
        item.uid, item.canonical = uid, {}
        for key in item.unsettled:
            try:
                item.base[key] = self.view.codecs[key].render(entity, self.catalog, tandems=False)
            except Embargoed:
                item.base.pop(key, None)
        record = RemoteRecord(item.remote_id, item.seen, item.etag, None)
        with self.store.transaction():
            self._put(entity)
            self._save_link(item, record)
        self._mark(item, record)

    def _mark(self, item: Item, record: RemoteRecord) -> None:
        """Give a linked record its entity's uid as marker, once (after the link is saved,
        so a failure here leaves a linked record that the next pass marks again)."""
        if not item.mark:
            return
        assert item.uid is not None
        try:
            marked = self.target.mark(self.collection, record.remote_id, item.uid, record.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            return  # changed meanwhile: the next pass merges it and marks it then
        self._save_link(item, marked)

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

    def _write_canonical(self, item: Item) -> None:
        """Write the item's canonical changes, all changes of one entity at once (an event
        moved on the platform changes start and end together; one at a time would pass
        through an event that ends before it starts)."""
        entity = self.catalog.get(item.uid or "")
        if entity is None or not item.canonical:
            return
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
        for owner, changes in grouped.values():
            unwritten = self._write_entity(item, owner, changes)
            if unwritten:
                paths = paths_of[owner.uid]
                self._keep_base(item, [p for p in paths if p.rsplit(".", 1)[-1] in unwritten])

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
            item.problems.append(f"{what} refused: {details}")
            return set(changes)
        refused = self.check(updated, self.catalog) if self.check else []
        if refused:
            item.problems.append(f"{what} refused: {'; '.join(refused)}")
            return set(changes)
        clashes = self._put(updated) & set(changes)
        if clashes:
            item.problems.append(
                f"{', '.join(sorted(clashes))}: changed in the store meanwhile (by an import "
                "or a command); the platform's value is merged again next pass"
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
