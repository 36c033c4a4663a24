"""The planner's unlinked records: creates, and platform records matched by marker or key
(adopted), copies left alone, leftovers of our own creates deleted, new records imported."""

from __future__ import annotations

from typing import Any

from connector.base import RemoteRecord
from mappings.fields import Unmappable
from mappings.paths import Embargoed
from sync.i18n import _
from sync.model import Entity
from sync.plan_items import Action, Item, held_base
from sync.plan_merge import MergePlanner


class MatchPlanner(MergePlanner):
    """Plans what has no link yet, on either side."""

    def _create(self, entity: Entity) -> Item:
        journal = self.creating.get(entity.uid)
        item = Item(Action.CREATE, entity.uid, heal=journal is not None)
        visible = self._visible(entity)
        for key, codec in self.view.codecs.items():
            if codec.spec.direction == "in":
                continue
            try:
                value = codec.render(entity, self.lookup, tandems=visible)
            except Embargoed:
                value = codec.view(None, self.lookup)
            item.remote[codec.spec.remote] = codec.merge_into(
                item.remote.get(codec.spec.remote), value, self.lookup
            )
            item.base[key] = value
        item.seen = dict(item.remote)
        return item

    def _unlinked_remote(self, scope: set[str]) -> list[str]:
        unlinked: list[str] = []
        taken: set[str] = set()
        for remote_id, record in sorted(self.snap.records.items()):
            if remote_id in self.linked_ids:
                continue
            if not self._claim(record, scope, taken):
                unlinked.append(remote_id)
        return unlinked

    def _claim(self, record: RemoteRecord, scope: set[str], taken: set[str]) -> bool:
        marker = record.marker
        if marker is not None:
            return self._by_marker(record, marker, scope, taken)
        key_uid = self._by_key(record, scope, taken)
        if key_uid is not None:
            entity = self.lookup.get(key_uid)
            assert entity is not None
            taken.add(key_uid)
            self.items.append(self._adopt(entity, record))
            return True
        if self._importable(record):
            self.items.append(self._import(record))
            return True
        return False

    def _adopt(self, entity: Entity, record: RemoteRecord) -> Item:
        """Link a record found on the platform; after a crash or a failed step of our own
        create, with the base the platform is known to hold (see :func:`held_base`)."""
        journal = self.creating.get(entity.uid)
        base: dict[str, Any] = {}
        if journal is not None:
            base = held_base(self.view, journal.intent.get("base", {}), record, self.lookup)
        item = self._merge(Action.ADOPT, entity, record, base)
        item.heal = journal is not None
        return item

    def _by_marker(
        self, record: RemoteRecord, marker: str, scope: set[str], taken: set[str]
    ) -> bool:
        entity = self.lookup.get(marker)
        if marker in scope and marker not in self.snap.links and marker not in taken:
            assert entity is not None
            taken.add(marker)
            self.items.append(self._adopt(entity, record))
            return True
        if entity is not None and entity.kind != self.view.rule.entity:
            return False  # not a record this rule could have made: leave it alone
        if entity is None and not self.snap.is_deleted(marker):
            return False  # not ours to judge: maybe another store's record
        # The marker names a record of this rule that is linked elsewhere, out of scope or
        # deleted: a copy someone made (their text, maybe their notes on it), or what our own
        # create left behind before it could link it. Only the latter may be deleted.
        if self._own_leftover(record, marker):
            self.items.append(Item(Action.DELETE, marker, record.remote_id, record.etag))
            return True
        if entity is not None and not self._copied(record, marker, taken):
            # Our own record of an entity the rule no longer covers (its cohort or filter
            # changed): not a copy, so neither imported nor deleted; the guard counts it.
            self.out_of_scope += 1
            return False
        if self._importable(record):
            self.items.append(self._import(record))
            return True
        self.notes.append(
            _(
                "record {record} carries the marker of {marker}, which is "
                "{whose}: a copy, not ours to delete; left alone"
            ).format(record=record.remote_id, marker=marker, whose=self._whose(marker, entity))
        )
        return False

    def _copied(self, record: RemoteRecord, marker: str, taken: set[str]) -> bool:
        """Whether ``record`` is a copy: its marker's entity has another record in this rule
        (linked to it, or adopted for it in this pass)."""
        link = self.snap.links.get(marker)
        return marker in taken or (link is not None and link.remote_id != record.remote_id)

    def _own_leftover(self, record: RemoteRecord, marker: str) -> bool:
        """Whether ``record`` is what our unfinished create of ``marker`` made: the journal
        holds that create, it was never linked, and no other record carries the marker."""
        if marker not in self.creating or marker in self.snap.links:
            return False
        carriers = [r for r in self.snap.records.values() if r.marker == marker]
        return [r.remote_id for r in carriers] == [record.remote_id]

    def _whose(self, marker: str, entity: Entity | None) -> str:
        link = self.snap.links.get(marker)
        if link is not None:
            return _("linked to record {record}").format(record=link.remote_id)
        if entity is None:
            return _("deleted")
        if self.in_scope(entity):
            return _("taken by another record")
        return _("not in this rule's scope")

    def _by_key(self, record: RemoteRecord, scope: set[str], taken: set[str]) -> str | None:
        key = self.view.rule.key
        if key is None:
            return None
        codec = next((c for c in self.view.codecs.values() if c.spec.remote == key), None)
        if codec is None:
            return None
        wanted = codec.view(record.fields.get(key), self.lookup)
        for uid in sorted(scope - taken - set(self.snap.links)):
            entity = self.lookup.get(uid)
            if entity is not None and codec.render(entity, self.lookup, tandems=False) == wanted:
                return uid
        return None

    def _importable(self, record: RemoteRecord) -> bool:
        rule = self.view.rule
        if not rule.create_from_remote:
            return False
        return all(record.fields.get(k) == v for k, v in rule.create_when.items())

    def _import(self, record: RemoteRecord) -> Item:
        item = Item(Action.IMPORT, None, record.remote_id, record.etag, seen=dict(record.fields))
        item.mark = self.view.marks
        values: dict[str, Any] = dict(self.view.rule.defaults)
        for key, codec in self.view.codecs.items():
            spec = codec.spec
            remote = codec.view(record.fields.get(spec.remote), self.lookup)
            item.base[key] = remote
            if spec.direction == "out" or spec.canonical is None or "." in spec.canonical:
                item.unsettled.append(key)
                continue
            try:
                values[spec.canonical] = codec.parse(remote, None, self.lookup)
            except Unmappable as exc:
                item.problems.append(f"{key}: {exc}")
                item.unsettled.append(key)
        item.canonical = values
        return item
