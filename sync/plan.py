"""Step 2 of a pass: decide, per record, what to write where. A pure function of its inputs.

:func:`plan_rule` takes one rule, the canonical entities (a Lookup), the rule's links, the
remote records as pulled (with unchanged ones filled in from each link's last-seen copy), the
open conflicts and the journal, and returns :class:`Item` s. Nothing is written here; the
apply step carries the items out, and ``connector plan`` prints them.
"""

from __future__ import annotations

from datetime import date

from connector.base import RemoteRecord
from mappings.paths import Lookup
from sync.catalog import Catalog
from sync.i18n import _
from sync.model import Entity
from sync.plan_items import DETACHED as DETACHED
from sync.plan_items import Action as Action
from sync.plan_items import Held as Held
from sync.plan_items import Item as Item
from sync.plan_items import RulePlan as RulePlan
from sync.plan_items import RuleView as RuleView
from sync.plan_items import Snapshot as Snapshot
from sync.plan_items import held_base as held_base
from sync.plan_match import MatchPlanner
from sync.store import Link


def plan_rule(view: RuleView, snap: Snapshot, lookup: Lookup, today: date) -> RulePlan:
    """Plan one rule: merge linked records, create, adopt, delete, import."""
    planner = _Planner(view, snap, lookup, today)
    plan = planner.run()
    plan.notes = planner.notes
    plan.out_of_scope = planner.out_of_scope
    if planner.out_of_scope:
        plan.notes.append(
            _(
                "{count} record(s) carry the marker of an entity outside this "
                "rule's scope (a changed cohort or filter?): left alone"
            ).format(count=planner.out_of_scope)
        )
    return plan


class _Planner(MatchPlanner):
    """Plans one rule: its linked records first, then what is unlinked on either side."""

    def run(self) -> RulePlan:
        settled = self.snap.settled
        # A settled record's entity was in scope when last planned, and nothing its scope
        # reads changed since: it is not even decoded (a quiet pass decodes nothing).
        scope = [
            uid
            for uid in self._uids(self.view.rule.entity)
            if uid in settled or self.in_scope(self.lookup.get(uid))
        ]
        for uid, link in sorted(self.snap.links.items()):
            if uid not in settled:
                self._linked(uid, link)
        unlinked = self._unlinked_remote(set(scope))
        adopted = {item.uid for item in self.items if item.action == Action.ADOPT}
        for uid in scope:
            if uid in self.snap.links or uid in adopted:
                continue
            entity = self.lookup.get(uid)
            if entity is not None:
                self.items.append(self._create(entity))
        return RulePlan(
            self.items,
            self.lost,
            len(self.snap.links),
            unlinked,
            frozenset(self.snap.links),
            sorted(set(self.withheld)),
        )

    def _uids(self, kind: str) -> list[str]:
        """The uids of the live entities of ``kind``, ordered; without decoding them when
        the lookup can tell (the pass's :class:`~sync.catalog.Catalog`)."""
        if isinstance(self.lookup, Catalog):
            return self.lookup.uids(kind)
        return [entity.uid for entity in self.lookup.all(kind)]

    # -- linked records -----------------------------------------------------------------

    def _linked(self, uid: str, link: Link) -> None:
        entity = self.lookup.get(uid)
        wanted = self.in_scope(entity)
        if link.remote_id.startswith(DETACHED):
            if entity is None:
                self.items.append(Item(Action.UNLINK, uid, link.remote_id))
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
            self.items.append(Item(Action.OPT_OUT, uid, link.remote_id))
        elif record is None:
            self._lost(uid, link, entity if wanted else None)
        elif not wanted:
            self.items.append(self._leaving(uid, entity, record, link))
        else:
            assert entity is not None
            self.items.append(self._merge(Action.UPDATE, entity, record, link.base))

    def _leaving(self, uid: str, entity: Entity | None, record: RemoteRecord, link: Link) -> Item:
        """The record of an entity that left the rule's scope (its audience, cohort or
        filter changed): deleted, but the edits made on it since the last pass go into the
        store first, merged field by field as for a record in scope. Nothing is written to
        the record itself (it may be held back by the embargo now). While one of its fields
        waits in a conflict, the record stays until a person has decided."""
        delete = Item(Action.DELETE, uid, record.remote_id, record.etag)
        if entity is None:
            return delete  # the entity was deleted: so is its record
        merged = self._merge(Action.UPDATE, entity, record, link.base)
        for key, codec in self.view.codecs.items():
            if codec.spec.remote in merged.remote:  # not written: the base stays
                if key in link.base:
                    merged.base[key] = link.base[key]
                else:
                    merged.base.pop(key, None)
        merged.remote, merged.seen, merged.mark = {}, dict(record.fields), False
        waiting = [
            c
            for (owner, _key), c in self.snap.conflicts.items()
            if owner == uid and c.resolved_at is None and c.id not in merged.closes
        ]
        if merged.conflicts or waiting:
            return merged
        delete.canonical, delete.problems = merged.canonical, merged.problems
        delete.closes, delete.resolutions_read = merged.closes, merged.resolutions_read
        delete.base, delete.seen = merged.base, merged.seen
        return delete

    def _lost(self, uid: str, link: Link, entity: Entity | None) -> None:
        if entity is None:
            self.items.append(Item(Action.UNLINK, uid, link.remote_id))
            return
        self.lost += 1
        policy = self.view.rule.on_remote_delete
        if policy == "restore":
            item = self._create(entity)
            item.action = Action.RESTORE
            self.items.append(item)
        elif policy == "tombstone":
            self.items.append(Item(Action.TOMBSTONE, uid, link.remote_id))
        elif policy == "opt_out":
            self.items.append(Item(Action.OPT_OUT, uid, link.remote_id))
        else:
            self.items.append(Item(Action.DETACH, uid, link.remote_id))
