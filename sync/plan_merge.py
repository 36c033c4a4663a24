"""The planner's per-field merge of linked (or found) records, and the scope it plans for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from connector.base import RemoteRecord
from mappings.fields import Codec, Unmappable
from mappings.paths import Embargoed, Lookup
from sync.i18n import _
from sync.merge import MISSING, merge_field
from sync.model import Audience, Entity
from sync.plan_items import Action, Held, Item, RuleView, Snapshot
from sync.scope import Pair, in_scope, names_a_pair, secret_pairs, tandems_visible
from sync.store import Conflict


class MergePlanner:
    """A rule's planner state, its scope and the three-way merge of one record's fields."""

    def __init__(self, view: RuleView, snap: Snapshot, lookup: Lookup, today: date) -> None:
        self.view, self.snap, self.lookup, self.today = view, snap, lookup, today
        self.items: list[Item] = []
        self.lost = 0
        self.linked_ids = {link.remote_id: uid for uid, link in snap.links.items()}
        self.creating = {e.uid: e for e in snap.journal if e.op == "create"}
        self._scope: dict[str, bool] = {}
        self.notes: list[str] = []
        #: Unlinked records carrying the marker of an entity outside the rule's scope.
        self.out_of_scope = 0
        self._pairs: list[Pair] | None = None
        #: Entities in the rule's scope held back because they name both partners of a
        #: tandem before its reveal (counted and reported with the pass).
        self.withheld: list[str] = []

    def in_scope(self, entity: Entity | None) -> bool:
        if entity is None:
            return False
        known = self._scope.get(entity.uid)
        if known is None:
            v = self.view
            known = in_scope(v.rule, v.audience, entity, self.lookup, v.default_cohort, self.today)
            if known and self._names_a_pair(entity):
                self.withheld.append(entity.uid)
                known = False
            self._scope[entity.uid] = known
        return known

    def _names_a_pair(self, entity: Entity) -> bool:
        """Whether what this rule would render of ``entity`` names both partners of a tandem
        not yet revealed to this (non-council) audience: then it is withheld."""
        if self.view.audience == Audience.COUNCIL:
            return False
        if self._pairs is None:
            self._pairs = secret_pairs(self.lookup, self.today)
        if not self._pairs:
            return False
        visible = self._visible(entity)
        values = []
        for codec in self.view.codecs.values():
            if codec.spec.direction == "in":
                continue
            try:
                values.append(codec.render(entity, self.lookup, tandems=visible))
            except Embargoed:
                continue
        return names_a_pair(values, self._pairs) is not None

    # -- the per-field merge ------------------------------------------------------------

    def _visible(self, entity: Entity) -> bool:
        return tandems_visible(self.view.audience, entity, self.lookup, self.today)

    def _merge(
        self, action: Action, entity: Entity, record: RemoteRecord, base: Mapping[str, Any]
    ) -> Item:
        item = Item(action, entity.uid, record.remote_id, record.etag, base=dict(base))
        item.held = Held(dict(base), dict(record.fields), record.etag)
        working = dict(record.fields)
        visible = self._visible(entity)
        for key, codec in self.view.codecs.items():
            self._merge_field(item, key, codec, entity, record, working, visible)
        item.seen = working
        item.mark = self.view.marks and record.marker != entity.uid
        return item

    def _merge_field(
        self,
        item: Item,
        key: str,
        codec: Codec,
        entity: Entity,
        record: RemoteRecord,
        working: dict[str, Any],
        visible: bool,
    ) -> None:
        spec = codec.spec
        try:
            canonical = codec.render(entity, self.lookup, tandems=visible)
        except Embargoed:
            canonical = codec.view(None, self.lookup)
        remote = codec.view(record.fields.get(spec.remote), self.lookup)
        base = item.base.get(key, MISSING)
        finer = remote != canonical and self._same_canonical(codec, entity, canonical, remote)
        if finer:
            # The platform holds the canonical value in its own, finer way (a due date as
            # 10:00 UTC on that day): nobody changed anything, so nothing is written back.
            canonical = remote
        conflict = self.snap.conflicts.get((entity.uid, key))
        if conflict is not None:
            self._pending(item, key, codec, conflict, canonical, remote, working)
            return
        if (
            not finer
            and base is not MISSING
            and remote != base
            and self._same_canonical(codec, entity, base, remote)
        ):
            # The platform shows the agreed value in its finer way while the canonical value
            # changed: the remote side did not change, so the change is written, no conflict.
            remote = base
        outcome = merge_field(
            spec.direction,
            spec.policy,
            base,
            canonical,
            remote,
            is_set=codec.remote_type == "set",
            canonical_at=entity.updated_at,
            remote_at=record.modified_at,
        )
        if outcome.conflict is not None:
            item.conflicts.append((key, *outcome.conflict))
            return
        if outcome.to_canonical is not MISSING and not self._to_canonical(
            item, key, codec, entity, outcome.to_canonical
        ):
            return
        if outcome.to_remote is not MISSING:
            self._to_remote(item, codec, outcome.to_remote, working)
        item.base[key] = outcome.agreed

    def _same_canonical(self, codec: Codec, entity: Entity, canonical: Any, remote: Any) -> bool:
        """Whether two remote values mean the same canonical value (a field that cannot keep
        the canonical value exactly is written only when the canonical value changed)."""
        if codec.spec.canonical is None:
            return False
        try:
            parsed = codec.parse(remote, entity, self.lookup)
            return bool(parsed == codec.parse(canonical, entity, self.lookup))
        except (Unmappable, ValueError, TypeError):
            return False

    def _pending(
        self,
        item: Item,
        key: str,
        codec: Codec,
        conflict: Conflict,
        canonical: Any,
        remote: Any,
        working: dict[str, Any],
    ) -> None:
        if conflict.resolved_at is None:
            if canonical != remote:
                return  # still waiting for a person; both sides stay as they are
            value = canonical
        else:
            value = conflict.resolution
            try:
                if codec.spec.canonical is not None:
                    codec.parse(value, None, self.lookup)
            except Unmappable as exc:
                item.problems.append(
                    _(
                        "conflict #{id}: the chosen value cannot be used ({reason}); "
                        "resolve it again: connector conflicts resolve {id} --take ..."
                    ).format(id=conflict.id, reason=exc)
                )
                return
        entity = self.lookup.get(item.uid or "")
        if value != canonical and (
            entity is None or not self._to_canonical(item, key, codec, entity, value)
        ):
            return
        if value != remote:
            self._to_remote(item, codec, value, working)
        item.base[key] = value
        item.closes.append(conflict.id)
        item.resolutions_read[conflict.id] = conflict.resolved_at

    def _to_canonical(self, item: Item, key: str, codec: Codec, entity: Entity, value: Any) -> bool:
        if codec.spec.canonical is None:
            return False
        try:
            item.canonical[codec.spec.canonical] = codec.parse(value, entity, self.lookup)
        except Unmappable as exc:
            item.problems.append(f"{key}: {exc}")
            return False
        return True

    def _to_remote(self, item: Item, codec: Codec, value: Any, working: dict[str, Any]) -> None:
        name = codec.spec.remote
        full = codec.merge_into(working.get(name), value, self.lookup)
        working[name] = full
        item.remote[name] = full
