"""One sync pass: pull → plan → guard → apply, rule by rule.

:class:`Engine` is the entry point for ``connector plan`` (``plan()``, writes nothing) and
``connector sync`` (``sync()``). A target that is down (``RetryLater``) or refuses our
credentials stops only its own rules; the mass-deletion guard stops only its own collection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connector.base import Changes, Collection, RemoteField, RemoteRecord, Target, content_hash
from connector.errors import ConnectorError, CredentialsError, Fatal, NotFound, RetryLater
from mappings.fields import Codec
from mappings.filters import matches
from mappings.schema import MappingFile, Rule, collection_name, options_of
from sync.apply import Applier, Check, Consequences, Tally, new_uid
from sync.catalog import Catalog
from sync.model import BERLIN, Cohort, Organisation, utcnow
from sync.plan import DETACHED, Item, RulePlan, RuleView, Snapshot, plan_rule
from sync.store import Store

log = logging.getLogger(__name__)

#: Rounds of pull → plan → apply per rule and pass: a round that wrote to the platform is
#: followed by another, so the pass ends with the platform's own view of our writes absorbed.
SETTLE_ROUNDS = 3
#: A rule whose filter no longer covers more than half of what it holds on its platform stops
#: (a typo in a cohort or filter), whatever the deletion thresholds; from this many records.
SCOPE_MIN = 2


@dataclass
class Options:
    """How a pass behaves."""

    #: The day the embargo is judged on; None: the current day in Berlin, at every pass.
    today: date | None = None
    #: Rule names (or "*") whose mass-deletion guard the operator overrides for this pass.
    allow_mass_delete: frozenset[str] = frozenset()
    max_delete_share: float = 0.2
    min_delete_count: int = 5


@dataclass
class RuleResult:
    """What one rule's pass found and did."""

    rule: str
    target: str
    collection: str
    plan: RulePlan | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: What the platform reported that is not a change (bounces, disabled delivery ...).
    notes: list[str] = field(default_factory=list)
    error: ConnectorError | None = None
    requests: int = 0
    #: Records held back by the embargo because they name both partners of a tandem.
    withheld: int = 0

    def merge(self, tally: Tally) -> None:
        """Add what one round applied."""
        for action, count in tally.counts.items():
            self.counts[action] = self.counts.get(action, 0) + count
        self.problems.extend(p for p in tally.problems if p not in self.problems)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "rule": self.rule,
            "target": self.target,
            "collection": self.collection,
            "counts": self.counts,
            "problems": self.problems,
            "notes": self.notes,
            "requests": self.requests,
            "withheld": self.withheld,
            "error": str(self.error) if self.error else None,
        }


def rule_key(mapping: MappingFile, rule: Rule) -> str:
    """``cohort:rule`` (or ``programme:rule``): how the store names a rule's links and cursor."""
    return f"{mapping.cohort or mapping.programme}:{rule.name}"


def field_keys(rule: Rule) -> list[str]:
    """The base key of each of ``rule``'s fields (the remote name, made unique if shared)."""
    remotes = [f.remote for f in rule.fields]
    return [
        f.remote if remotes.count(f.remote) == 1 else f"{f.remote}[{f.canonical or 'text'}]"
        for f in rule.fields
    ]


class Engine:
    """Runs passes of one mapping against its targets and the store."""

    def __init__(
        self,
        store: Store,
        mapping: MappingFile,
        targets: dict[str, Target],
        options: Options | None = None,
        consequences: Consequences | None = None,
        check: Check | None = None,
        uids: Callable[[str], str] = new_uid,
        clock: Callable[[], datetime] = lambda: datetime.now(BERLIN),
    ) -> None:
        self.store, self.mapping, self.targets = store, mapping, targets
        self.options = options or Options()
        self.consequences = consequences
        self.check = check
        #: Makes the uid of an entity created from a platform record.
        self.uids = uids
        #: The current time; the embargo's day is its date in Berlin (unless fixed by options).
        self.clock = clock
        #: Checked between items; when it returns True the pass ends after the current item.
        self.stop_requested: Callable[[], bool] = lambda: False
        self.views = {rule.name: self.compile(rule) for rule in mapping.rules}

    def today(self) -> date:
        """The day this pass runs on (for the embargo): fixed by the options, else now."""
        return self.options.today or self.clock().astimezone(BERLIN).date()

    def key(self, rule: Rule) -> str:
        """The rule's name in the store, unique across mapping files."""
        return rule_key(self.mapping, rule)

    def compile(self, rule: Rule) -> RuleView:
        """The rule with its codecs, typed by the target's fields."""
        fields = self.targets[rule.target].FIELDS
        codecs = {}
        for key, spec in zip(field_keys(rule), rule.fields, strict=True):
            remote = fields.get(spec.remote, RemoteField(spec.remote))
            codecs[key] = Codec(spec, rule.entity, remote.type, remote.max_length)
        return RuleView(
            rule,
            self.key(rule),
            rule.target,
            collection_name(rule),
            self.mapping.audience_of(rule),
            codecs,
            self.mapping.cohort,
            self.targets[rule.target].marks_records,
        )

    def collection(self, rule: Rule, catalog: Catalog) -> Collection:
        """The collection with its options; organisation labels come from the cohort."""
        options = options_of(rule)
        if rule.deck is not None and rule.deck.organisation_labels:
            options["labels"] = [*options.get("labels", []), *self._organisation_labels(catalog)]
        return Collection(collection_name(rule), options)

    def _organisation_labels(self, catalog: Catalog) -> list[str]:
        cohort = catalog.get(self.mapping.cohort or "")
        uids = cohort.organisations if isinstance(cohort, Cohort) else []
        orgs = [catalog.get(uid) for uid in uids] or catalog.all("organisation")
        return sorted({o.short_name for o in orgs if isinstance(o, Organisation)})

    # -- passes -------------------------------------------------------------------------

    def plan(self) -> list[RuleResult]:
        """What a pass would do, per rule. Writes nothing, here or remotely."""
        return self._pass(write=False)

    def sync(self, progress: Callable[[str, int, int], None] | None = None) -> list[RuleResult]:
        """Run one pass: every rule, each item committed on its own."""
        return self._pass(write=True, progress=progress)

    def _pass(
        self, *, write: bool, progress: Callable[[str, int, int], None] | None = None
    ) -> list[RuleResult]:
        started = utcnow()
        catalog = Catalog.load(self.store)
        down: dict[str, ConnectorError] = {}
        results = []
        for target in self.targets.values():
            target.reset_stats()
        for rule in self.mapping.rules:
            if self.stop_requested():
                break
            result = RuleResult(rule.name, rule.target, collection_name(rule))
            if rule.target in down:
                result.error = down[rule.target]
            else:
                self._run_rule(rule, catalog, result, write=write, progress=progress)
                if isinstance(result.error, RetryLater | CredentialsError | Fatal):
                    down[rule.target] = result.error
            results.append(result)
        if write:
            self._record(results, started)
        return results

    def _run_rule(
        self,
        rule: Rule,
        catalog: Catalog,
        result: RuleResult,
        *,
        write: bool,
        progress: Callable[[str, int, int], None] | None,
    ) -> None:
        target = self.targets[rule.target]
        before = target.requests
        try:
            collection = self.collection(rule, catalog)
            for _round in range(SETTLE_ROUNDS if write else 1):
                if not self._round(rule, target, collection, catalog, result, write, progress):
                    break
        except ConnectorError as exc:
            result.error = exc
        finally:
            result.requests = target.requests - before

    def _round(
        self,
        rule: Rule,
        target: Target,
        collection: Collection,
        catalog: Catalog,
        result: RuleResult,
        write: bool,
        progress: Callable[[str, int, int], None] | None,
    ) -> bool:
        """Pull, plan, guard, apply once; True if it wrote something (settle again)."""
        changes, snapshot = self._pull(rule, target, collection, catalog, write=write)
        result.notes = list(changes.notes)
        result.plan = plan_rule(self.views[rule.name], snapshot, catalog, self.today())
        result.notes += result.plan.notes
        result.withheld = len(result.plan.withheld)
        self._guard(rule, result.plan, catalog)
        if not write:
            return False
        applied = Tally()
        if not self._apply(rule, target, collection, catalog, result.plan, applied, progress):
            result.merge(applied)
            return False
        self.store.save_cursor(
            self.key(rule), rule.target, changes.cursor, content_hash(collection.options)
        )
        self._settle_journal(rule, applied.failed)
        result.merge(applied)
        # Only writes to the platform move its cursor; settling after canonical-only or
        # conflict-only rounds would just list the same records again.
        return any(n for action, n in applied.counts.items() if action != "conflict")

    def _pull(
        self, rule: Rule, target: Target, collection: Collection, catalog: Catalog, *, write: bool
    ) -> tuple[Changes, Snapshot]:
        key = self.key(rule)
        cursor, options_hash = self.store.cursor(key)
        if cursor is None or options_hash != content_hash(collection.options):
            changes = self._full_listing(target, collection, write=write)
        else:
            try:
                changes = target.changes(collection, cursor)
            except NotFound:
                # The collection vanished from the platform: make it again, list it whole.
                changes = self._full_listing(target, collection, write=write)
        links = self.store.links(key)
        records = {r.remote_id: r for r in changes.records}
        if not changes.complete:
            for uid, link in links.items():
                rid = link.remote_id
                if (
                    rid not in records
                    and rid not in changes.deleted
                    and not rid.startswith(DETACHED)
                ):
                    records[rid] = RemoteRecord(rid, link.seen, link.remote_etag, uid)
        conflicts = {(c.uid, c.field): c for c in self.store.pending_conflicts(key)}
        snapshot = Snapshot(
            links,
            records,
            conflicts,
            self.store.journal(key),
            self.store.is_deleted,
        )
        return changes, snapshot

    def _full_listing(self, target: Target, collection: Collection, *, write: bool) -> Changes:
        if write:
            target.open(collection)
            return target.changes(collection, None)
        try:
            return target.changes(collection, None)
        except NotFound:
            return Changes([], set(), True, None)  # the pass would create the collection

    def _settle_journal(self, rule: Rule, failed: set[str]) -> None:
        """After a complete round, writes left in flight by a crash are settled: the round
        saw their effect on the platform and adopted, merged or removed it. Only records
        whose write failed this round keep their entries (a partial create may need them)."""
        with self.store.transaction():
            for entry in self.store.journal(self.key(rule)):
                if entry.uid not in failed:
                    self.store.journal_end(entry.id)

    def _guard(self, rule: Rule, plan: RulePlan, catalog: Catalog) -> None:
        """Stop the collection when a pass would delete too much, on either side.

        Counted are the linked records that vanished from the platform (whatever the rule's
        policy then does with them) and every deletion the pass planned itself: records that
        fell out of the rule's scope, records carrying the marker of an entity the rule no
        longer covers, and tombstoned entities' records. The share is taken of everything the
        rule holds on the platform (its links and the records it recognises by marker).
        """
        from connector.errors import GuardTripped

        allowed = self.options.allow_mass_delete
        if {rule.name, self.key(rule), "*"} & allowed:
            return
        deletes = [i for i in plan.items if i.action == "delete"]
        by_marker = [i for i in deletes if i.uid not in plan.linked_uids]
        reach = plan.linked + len(by_marker)
        # Entities still alive that the rule's filter (or cohort) no longer covers: the scope
        # moved away from them. (Records withdrawn by the embargo are deletions, not this.)
        out_of_scope = [i for i in deletes if self._filtered_out(rule, catalog, i.uid)]
        if len(out_of_scope) >= SCOPE_MIN and len(out_of_scope) * 2 > reach:
            error = GuardTripped(
                f"{rule.name}: the rule's scope no longer matches {len(out_of_scope)} of the "
                f"{reach} records it holds on {rule.target} ({_scope_of(self.mapping, rule)}); "
                f"the pass would delete them; nothing was changed for this collection"
            )
            error.hint = (
                "check the mapping's cohort and the rule's filter (`connector mappings check "
                "FILE` warns about a filter that matches nothing in the store); if the "
                f"deletions are meant, run `connector sync --allow-mass-delete {rule.name}`"
            )
            raise error
        doomed = plan.lost + len(deletes)
        if doomed < self.options.min_delete_count or not reach:
            return
        share = doomed / reach
        if share <= self.options.max_delete_share:
            return
        parts = []
        if plan.lost:
            parts.append(f"{plan.lost} of {plan.linked} linked records vanished from {rule.target}")
        if deletes:
            parts.append(f"the pass would delete {len(deletes)} records on {rule.target}")
        error = GuardTripped(
            f"{rule.name}: {' and '.join(parts)} in one pass ({share:.0%} of {reach}, more "
            f"than {self.options.max_delete_share:.0%}); nothing was changed for this collection",
        )
        error.hint = (
            f"check {rule.target}; {_allowing(rule, plan)}if the deletions are meant, run "
            f"`connector sync --allow-mass-delete {rule.name}`"
        )
        raise error

    def _filtered_out(self, rule: Rule, catalog: Catalog, uid: str | None) -> bool:
        entity = catalog.get(uid or "")
        return entity is not None and not matches(rule, entity, catalog, self.mapping.cohort)

    def _apply(
        self,
        rule: Rule,
        target: Target,
        collection: Collection,
        catalog: Catalog,
        plan: RulePlan,
        tally: Tally,
        progress: Callable[[str, int, int], None] | None,
    ) -> bool:
        """Apply the rule's items; False if a stop request cut it short."""
        view = self.views[rule.name]
        applier = Applier(
            self.store,
            catalog,
            view,
            target,
            collection,
            self.consequences,
            tally,
            self.check,
            uids=self.uids,
        )
        links = self.store.links(self.key(rule))
        items = [i for i in plan.items if _worth_applying(i, links)]
        for index, item in enumerate(items, 1):
            if self.stop_requested():
                return False
            applier.apply(item)
            if progress is not None:
                progress(rule.name, index, len(items))
        return True

    def _record(self, results: list[RuleResult], started: Any) -> None:
        by_target: dict[str, list[RuleResult]] = {}
        for result in results:
            by_target.setdefault(result.target, []).append(result)
        for target, rule_results in by_target.items():
            failed = [r for r in rule_results if r.error is not None]
            outcome = "ok" if not failed else f"failed: {failed[0].error}"
            summary = {"rules": [r.summary() for r in rule_results]}
            self.store.record_pass(target, started, outcome, summary)


def _scope_of(mapping: MappingFile, rule: Rule) -> str:
    cohort = rule.filter.get("cohort", mapping.cohort)
    others = {k: v for k, v in rule.filter.items() if k != "cohort"}
    scope = f"cohort {cohort!r}" if cohort is not None else "no cohort"
    return scope + (f", filter {others}" if others else "")


_ALLOWING = {
    "tombstone": "tombstones their {n} entities in the store",
    "restore": "creates their {n} records again",
    "opt_out": "records {n} opt-outs",
    "detach": "stops syncing their {n} entities",
}


def _allowing(rule: Rule, plan: RulePlan) -> str:
    """What overriding the guard would do with the vanished records (policy-specific)."""
    if not plan.lost:
        return ""
    effect = _ALLOWING.get(rule.on_remote_delete, "")
    return f"allowing the pass {effect.format(n=plan.lost)}; " if effect else ""


def _worth_applying(item: Item, links: dict[str, Any]) -> bool:
    if item.writes or item.problems:
        return True
    link = links.get(item.uid or "")
    return link is None or link.base != item.base or link.remote_etag != item.etag
