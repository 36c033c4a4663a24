"""Step 2 of a pass: decide, per record, what to write where. A pure function of its inputs.

:func:`plan_rule` takes one rule, the canonical entities (a Lookup), the rule's links, the
remote records as pulled (with unchanged ones filled in from each link's last-seen copy), the
open conflicts and the journal, and returns :class:`Item` s. Nothing is written here; the
apply step carries the items out, and ``connector plan`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.base import RemoteRecord
from mappings.fields import Codec, Unmappable
from mappings.paths import Embargoed, Lookup
from mappings.schema import Rule
from sync.merge import MISSING, merge_field
from sync.model import Audience, Entity
from sync.scope import Pair, in_scope, names_a_pair, secret_pairs, tandems_visible
from sync.store import Conflict, JournalEntry, Link

DETACHED = "detached:"


@dataclass(frozen=True)
class RuleView:
    """A rule compiled for planning: its codecs keyed by base field name."""

    rule: Rule
    #: The rule's name in the store: unique across mapping files (``cohort:rule``).
    key: str
    target: str
    collection: str
    audience: Audience
    codecs: Mapping[str, Codec]
    default_cohort: str | None
    #: Whether the target can give an existing record a marker (adopted, imported ones).
    marks: bool = False


@dataclass(frozen=True)
class Held:
    """What the platform is known to hold of a record before an item's writes: the base to
    link it with should those writes fail (see :func:`held_base`)."""

    base: dict[str, Any]
    seen: dict[str, Any]
    etag: str | None


@dataclass
class Item:
    """One record's plan: the writes on each side, the new base, and conflicts to park."""

    action: str
    uid: str | None
    remote_id: str | None = None
    etag: str | None = None
    remote: dict[str, Any] = field(default_factory=dict)
    canonical: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    conflicts: list[tuple[str, Any, Any, Any]] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    #: The ``resolved_at`` of each conflict in ``closes`` as planned: a conflict a person
    #: resolved since is not closed, so the next pass applies the resolution.
    resolutions_read: dict[int, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    heal: bool = False
    #: Fields of an imported record whose value could not become canonical: their base is
    #: set from the new entity once it exists, so the platform's value is left alone.
    unsettled: list[str] = field(default_factory=list)
    #: For a merged record: the base and the record as pulled, from which the link is
    #: saved if this item's writes fail (later passes merge from what the platform holds).
    held: Held | None = None
    #: Whether the record must be given its entity's uid as marker (it carries none, or
    #: another record's: made by hand, adopted by key, copied).
    mark: bool = False

    @property
    def writes(self) -> bool:
        """Whether applying this item changes anything."""
        return bool(
            self.action not in ("update", "adopt")
            or self.remote
            or self.canonical
            or self.conflicts
            or self.closes
            or self.mark
        )


@dataclass
class Snapshot:
    """What the pull step found for one rule."""

    links: dict[str, Link]
    records: dict[str, RemoteRecord]
    conflicts: dict[tuple[str, str], Conflict]
    journal: list[JournalEntry]
    is_deleted: Callable[[str], bool]


@dataclass
class RulePlan:
    """All items of one rule, and how many linked records the target lost."""

    items: list[Item]
    lost: int
    linked: int
    unlinked_remote: list[str]
    #: The uids the rule had links for when planned.
    linked_uids: frozenset[str] = frozenset()
    #: Entities held back by the embargo because their fields name both partners of a tandem.
    withheld: list[str] = field(default_factory=list)
    #: What the operator should know that is not a change (e.g. a copied record left alone).
    notes: list[str] = field(default_factory=list)
    #: Unlinked records carrying the marker of an entity the rule no longer covers.
    out_of_scope: int = 0


def held_base(
    view: RuleView, intended: Mapping[str, Any], record: RemoteRecord, lookup: Lookup
) -> dict[str, Any]:
    """The base of a record whose create we began: what the platform is known to hold.

    A create takes several requests on some platforms (a Deck card: the card, then each
    label and assignee), and any of them may fail or be cut short by a crash. A field that
    shows the value the create meant to write is agreed; any other field is known to hold
    only what it held before the create, i.e. nothing. So the merge writes the missing step
    again instead of taking its absence for someone's deletion of a canonical value.
    """
    base: dict[str, Any] = {}
    for key, value in intended.items():
        codec = view.codecs.get(key)
        if codec is None:
            continue
        held = codec.view(record.fields.get(codec.spec.remote), lookup)
        base[key] = value if held == value else codec.view(None, lookup)
    return base


def plan_rule(view: RuleView, snap: Snapshot, lookup: Lookup, today: date) -> RulePlan:
    """Plan one rule: merge linked records, create, adopt, delete, import."""
    planner = _Planner(view, snap, lookup, today)
    plan = planner.run()
    plan.notes = planner.notes
    plan.out_of_scope = planner.out_of_scope
    if planner.out_of_scope:
        plan.notes.append(
            f"{planner.out_of_scope} record(s) carry the marker of an entity outside this "
            "rule's scope (a changed cohort or filter?): left alone"
        )
    return plan


class _Planner:
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

    def run(self) -> RulePlan:
        scope = [e for e in self.lookup.all(self.view.rule.entity) if self.in_scope(e)]
        for uid, link in sorted(self.snap.links.items()):
            self._linked(uid, link)
        unlinked = self._unlinked_remote({e.uid for e in scope})
        adopted = {item.uid for item in self.items if item.action == "adopt"}
        for entity in scope:
            if entity.uid not in self.snap.links and entity.uid not in adopted:
                self.items.append(self._create(entity))
        return RulePlan(
            self.items,
            self.lost,
            len(self.snap.links),
            unlinked,
            frozenset(self.snap.links),
            sorted(set(self.withheld)),
        )

    # -- linked records -----------------------------------------------------------------

    def _linked(self, uid: str, link: Link) -> None:
        entity = self.lookup.get(uid)
        wanted = self.in_scope(entity)
        if link.remote_id.startswith(DETACHED):
            if entity is None:
                self.items.append(Item("unlink", uid, link.remote_id))
            return
        record = self.snap.records.get(link.remote_id)
        if (
            record is None
            and not wanted
            and entity is not None
            and (self.view.rule.on_remote_delete == "opt_out")
        ):
            # Someone left the list as they also left its scope: still their own decision,
            # recorded, so that coming back into scope does not subscribe them again.
            self.items.append(Item("opt_out", uid, link.remote_id))
        elif record is None:
            self._lost(uid, link, entity if wanted else None)
        elif not wanted:
            self.items.append(Item("delete", uid, link.remote_id, record.etag))
        else:
            assert entity is not None
            self.items.append(self._merge("update", entity, record, link.base))

    def _lost(self, uid: str, link: Link, entity: Entity | None) -> None:
        if entity is None:
            self.items.append(Item("unlink", uid, link.remote_id))
            return
        self.lost += 1
        policy = self.view.rule.on_remote_delete
        if policy == "restore":
            item = self._create(entity)
            item.action = "restore"
            self.items.append(item)
        elif policy == "tombstone":
            self.items.append(Item("tombstone", uid, link.remote_id))
        elif policy == "opt_out":
            self.items.append(Item("opt_out", uid, link.remote_id))
        else:
            self.items.append(Item("detach", uid, link.remote_id))

    # -- the per-field merge ------------------------------------------------------------

    def _visible(self, entity: Entity) -> bool:
        return tandems_visible(self.view.audience, entity, self.lookup, self.today)

    def _merge(
        self, action: str, entity: Entity, record: RemoteRecord, base: Mapping[str, Any]
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
        if remote != canonical and self._same_canonical(codec, entity, canonical, remote):
            # The platform holds the canonical value in its own, finer way (a due date as
            # 10:00 UTC on that day): nobody changed anything, so nothing is written back.
            canonical = remote
        conflict = self.snap.conflicts.get((entity.uid, key))
        if conflict is not None:
            self._pending(item, key, codec, conflict, canonical, remote, working)
            return
        outcome = merge_field(
            spec.direction,
            spec.policy,
            item.base.get(key, MISSING),
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
                    f"conflict #{conflict.id}: the chosen value cannot be used ({exc}); "
                    f"resolve it again: connector conflicts resolve {conflict.id} --take ..."
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

    # -- unlinked records on either side ------------------------------------------------

    def _create(self, entity: Entity) -> Item:
        journal = self.creating.get(entity.uid)
        item = Item("create", entity.uid, heal=journal is not None)
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
        item = self._merge("adopt", entity, record, base)
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
            self.items.append(Item("delete", marker, record.remote_id, record.etag))
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
            f"record {record.remote_id} carries the marker of {marker}, which is "
            f"{self._whose(marker, entity)}: a copy, not ours to delete; left alone"
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
            return f"linked to record {link.remote_id}"
        if entity is None:
            return "deleted"
        return "taken by another record" if self.in_scope(entity) else "not in this rule's scope"

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
        item = Item("import", None, record.remote_id, record.etag, seen=dict(record.fields))
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
