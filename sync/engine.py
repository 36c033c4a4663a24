"""One sync pass: pull → plan → guard → apply, rule by rule.

:class:`Engine` is the entry point for ``connector plan`` (``plan()``, writes nothing) and
``connector sync`` (``sync()``). A target that is down (``RetryLater``) or refuses our
credentials stops only its own rules; the mass-deletion guard stops only its own collection.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connector.base import Changes, Collection, RemoteField, RemoteRecord, Target, content_hash
from connector.errors import (
    ConnectorError,
    CredentialsError,
    Fatal,
    NotFound,
    RetryLater,
    TargetError,
)
from mappings.fields import Codec
from mappings.filters import matches
from mappings.schema import MappingFile, Rule, collection_name, options_of
from sync.apply import Applier, Check, Consequences, Tally, new_uid
from sync.catalog import Catalog
from sync.i18n import N_, _
from sync.logs import event, scrub
from sync.model import BERLIN, Cohort, Organisation, utcnow
from sync.outcome import ITEM_FAILED, ITEM_UNAVAILABLE, ItemFailure, withheld
from sync.plan import DETACHED, Item, RulePlan, RuleView, Snapshot, plan_rule
from sync.store import Store

log = logging.getLogger(__name__)

#: Rounds of pull → plan → apply per rule and pass: a round that wrote to the platform is
#: followed by another, so the pass ends with the platform's own view of our writes absorbed.
SETTLE_ROUNDS = 3
#: A rule whose filter no longer covers more than half of what it holds on its platform stops
#: (a typo in a cohort or filter), whatever the deletion thresholds; from this many records.
SCOPE_MIN = 2

#: Items in a row that found their platform unavailable before the pass gives the target up
#: (an outage, not one unlucky request).
OUTAGE_STREAK = 5
#: A server that asks for a longer pause than this (Retry-After) is left alone for the pass.
THROTTLE_STOP = 30.0


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
    #: Records that did not sync (their write failed, or a change was refused), by uid.
    failures: dict[str, ItemFailure] = field(default_factory=dict)
    #: Entities the rule would carry but the tandem embargo holds back today.
    withheld: int = 0
    #: Seconds the rule took.
    duration: float = 0.0

    def merge(self, tally: Tally, outcomes: Mapping[str, ItemFailure | None] | None = None) -> None:
        """Add what one round applied; ``outcomes`` says per item key whether it failed.

        An item that failed in an earlier round and went through in a later one is no
        failure; the problems are those of the items still failing.
        """
        for action, count in tally.counts.items():
            self.counts[action] = self.counts.get(action, 0) + count
        for key, failure in (outcomes or {}).items():
            if failure is None:
                self.failures.pop(key, None)
            else:
                self.failures[key] = failure
        self.problems = [line for f in self.failures.values() for line in f.messages]

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
            "error": str(self.error) if self.error else None,
            "failures": len(self.failures),
            "withheld": self.withheld,
            "duration": round(self.duration, 3),
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

    def sync(
        self,
        progress: Callable[[str, int, int], None] | None = None,
        resting: Mapping[str, ConnectorError] | None = None,
    ) -> list[RuleResult]:
        """Run one pass: every rule, each item committed on its own.

        Rules of the targets in ``resting`` (the daemon's back-off) are skipped with that error.
        """
        return self._pass(write=True, progress=progress, resting=resting)

    def _pass(
        self,
        *,
        write: bool,
        progress: Callable[[str, int, int], None] | None = None,
        resting: Mapping[str, ConnectorError] | None = None,
    ) -> list[RuleResult]:
        started = utcnow()
        catalog = Catalog.load(self.store)
        down: dict[str, ConnectorError] = dict(resting or {})
        results = []
        for target in self.targets.values():
            target.reset_stats()
            target.begin_pass()
        for rule in self.mapping.rules:
            if self.stop_requested():
                break
            result = RuleResult(rule.name, rule.target, collection_name(rule))
            if rule.target in down:
                result.error = down[rule.target]
            else:
                began = time.monotonic()
                self._run_rule(rule, catalog, result, write=write, progress=progress)
                result.duration = time.monotonic() - began
                if isinstance(result.error, RetryLater | CredentialsError | Fatal):
                    down[rule.target] = result.error
            results.append(result)
            if write:
                self._log_rule(rule, result)
        if write:
            self._record(results, started)
        return results

    def _log_rule(self, rule: Rule, result: RuleResult) -> None:
        changes = sum(n for a, n in result.counts.items() if a != "conflict")
        event(
            log,
            logging.WARNING if result.error or result.failures else logging.INFO,
            "rule",
            rule=self.key(rule),
            target=result.target,
            changes=changes,
            conflicts=result.counts.get("conflict", 0),
            failures=len(result.failures),
            withheld=result.withheld,
            requests=result.requests,
            error=scrub(str(result.error)) if result.error else None,
        )

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
        view = self.views[rule.name]
        with _without_cyclic_gc():
            result.plan = plan_rule(view, snapshot, catalog, self.today())
        # Every round's notes count: a settling round's listing no longer shows what an
        # earlier round reported (a copy left alone), so its notes must not replace them.
        for note in [*changes.notes, *result.plan.notes]:
            if note not in result.notes:
                result.notes.append(note)
        result.withheld = len(result.plan.withheld) + withheld(
            rule, view.audience, catalog, self.mapping.cohort, self.today()
        )
        self._guard(rule, result.plan, catalog)
        if not write:
            return False
        applied = Tally()
        outcomes: dict[str, ItemFailure | None] = {}
        try:
            finished = self._apply(
                rule, target, collection, catalog, result.plan, applied, progress, outcomes
            )
        finally:
            result.merge(applied, outcomes)
        if not finished:
            return False
        self.store.save_cursor(
            self.key(rule), rule.target, changes.cursor, content_hash(collection.options)
        )
        self._settle_journal(rule, applied.failed)
        # Only writes to the platform move its cursor; settling after store-only rounds
        # (imports, canonical-only updates, conflicts) would just list the same records
        # again, and so would one after writes whose answers already are what the next
        # listing shows. Items the platform was unavailable for are tried again in the next
        # round (a create looks for its marker first, so a create that landed unheard is
        # adopted, not repeated).
        wrote = applied.remote_writes > 0 and not target.writes_answer_as_listed
        return wrote or any(
            f is not None and f.exit_code == ITEM_UNAVAILABLE for f in outcomes.values()
        )

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
            latest: dict[tuple[str, str], int] = {}
            for entry in self.store.journal(self.key(rule)):
                if entry.uid not in failed:
                    self.store.journal_end(entry.id)
                    continue
                # A write retried pass after pass keeps one entry, not one per attempt.
                older = latest.get((entry.uid, entry.op))
                if older is not None:
                    self.store.journal_end(older)
                latest[(entry.uid, entry.op)] = entry.id

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
        reach = plan.linked + len(by_marker) + plan.out_of_scope
        # Entities still alive that the rule's filter (or cohort) no longer covers: the scope
        # moved away from them. (Records withdrawn by the embargo are deletions, not this.)
        # Unlinked records of such entities (found by marker) count too: a typo in the cohort
        # also changes the rule's key, and its records would be orphaned.
        out_of_scope = [i for i in deletes if self._filtered_out(rule, catalog, i.uid)]
        moved = len(out_of_scope) + plan.out_of_scope
        if moved >= SCOPE_MIN and moved * 2 > reach:
            error = GuardTripped(
                _(
                    "{rule}: the rule's scope no longer matches {n} of the "
                    "{reach} records it holds on {target} ({scope}); "
                    "the pass would delete them; nothing was changed for this collection"
                ).format(
                    rule=rule.name,
                    n=moved,
                    reach=reach,
                    target=rule.target,
                    scope=_scope_of(self.mapping, rule),
                )
            )
            error.hint = _(
                "check the mapping's cohort and the rule's filter (`connector mappings check "
                "FILE` warns about a filter that matches nothing in the store); if the "
                "deletions are meant, run `connector sync --allow-mass-delete {rule}`"
            ).format(rule=rule.name)
            raise error
        doomed = plan.lost + len(deletes)
        if doomed < self.options.min_delete_count or not reach:
            return
        share = doomed / reach
        if share <= self.options.max_delete_share:
            return
        parts = []
        if plan.lost:
            parts.append(
                _("{lost} of {linked} linked records vanished from {target}").format(
                    lost=plan.lost, linked=plan.linked, target=rule.target
                )
            )
        if deletes:
            parts.append(
                _("the pass would delete {n} records on {target}").format(
                    n=len(deletes), target=rule.target
                )
            )
        error = GuardTripped(
            _(
                "{rule}: {parts} in one pass ({share:.0%} of {reach}, more "
                "than {limit:.0%}); nothing was changed for this collection"
            ).format(
                rule=rule.name,
                parts=_(" and ").join(parts),
                share=share,
                reach=reach,
                limit=self.options.max_delete_share,
            ),
        )
        error.hint = _(
            "check {target}; {allowing}if the deletions are meant, run "
            "`connector sync --allow-mass-delete {rule}`"
        ).format(target=rule.target, allowing=_allowing(rule, plan), rule=rule.name)
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
        outcomes: dict[str, ItemFailure | None],
    ) -> bool:
        """Apply the rule's items; False if a stop request cut it short.

        One item's failure never stops the others: it is recorded in ``outcomes`` (and its
        journal entry kept). Only an outage (several items in a row finding the platform
        unavailable, or a server asking for a long pause) stops the rule, and with it the
        target for the rest of the pass.
        """
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
        streak = 0
        for index, item in enumerate(items, 1):
            if self.stop_requested():
                return False
            key = item.uid or item.remote_id or "?"
            before = len(tally.problems)
            code, reason = ITEM_FAILED, "refused"
            try:
                applier.apply(item)
            except RetryLater as exc:
                streak += 1
                code, reason = ITEM_UNAVAILABLE, type(exc).__name__
                tally.problems.append(f"{self.key(rule)}: {key}: {exc}")
                tally.failed.add(item.uid or "")
                if streak >= OUTAGE_STREAK or (exc.retry_after or 0.0) > THROTTLE_STOP:
                    outcomes[key] = ItemFailure(key, tally.problems[before:], code)
                    raise
            except TargetError as exc:
                if isinstance(exc, Fatal):
                    raise
                reason = type(exc).__name__
                tally.problems.append(f"{self.key(rule)}: {key}: {exc}")
                tally.failed.add(item.uid or "")
            else:
                streak = 0
            lines = tally.problems[before:]
            key = item.uid or key  # an import has its uid now
            outcomes[key] = ItemFailure(key, lines, code) if lines else None
            self._log_item(rule, item, key, reason if lines else None)
            if progress is not None:
                progress(rule.name, index, len(items))
        return True

    def _log_item(self, rule: Rule, item: Item, key: str, failed: str | None) -> None:
        """One log record per item changed or failed. It names the record by uid and the
        fields by name, never their values (a platform's message may quote an address)."""
        if failed is not None:
            event(
                log,
                logging.WARNING,
                "item failed",
                rule=self.key(rule),
                uid=key,
                action=item.action,
                reason=failed,
            )
        elif item.writes:
            event(
                log,
                logging.INFO,
                "item",
                rule=self.key(rule),
                uid=key,
                action=item.action,
                remote_fields=sorted(item.remote),
                canonical_fields=sorted(item.canonical),
                conflicts=len(item.conflicts),
            )

    def _record(self, results: list[RuleResult], started: Any) -> None:
        by_target: dict[str, list[RuleResult]] = {}
        for result in results:
            by_target.setdefault(result.target, []).append(result)
        for target, rule_results in by_target.items():
            failed = [r for r in rule_results if r.error is not None]
            outcome = "ok" if not failed else f"failed: {failed[0].error}"
            if not failed and any(r.failures for r in rule_results):
                outcome = f"failed: {sum(len(r.failures) for r in rule_results)} item(s)"
            summary = {"rules": [r.summary() for r in rule_results]}
            figures = {
                "duration": round(sum(r.duration for r in rule_results), 3),
                "requests": sum(r.requests for r in rule_results),
                "changes": sum(
                    n for r in rule_results for a, n in r.counts.items() if a != "conflict"
                ),
                "conflicts": sum(r.counts.get("conflict", 0) for r in rule_results),
                "failures": sum(len(r.failures) for r in rule_results),
                "withheld": sum(r.withheld for r in rule_results),
                "errors": len(failed),
            }
            self.store.record_pass(target, started, outcome, summary, figures)


def _scope_of(mapping: MappingFile, rule: Rule) -> str:
    cohort = rule.filter.get("cohort", mapping.cohort)
    others = {k: v for k, v in rule.filter.items() if k != "cohort"}
    scope = _("cohort {cohort!r}").format(cohort=cohort) if cohort is not None else _("no cohort")
    return scope + (_(", filter {others}").format(others=others) if others else "")


_ALLOWING = {
    "tombstone": N_("tombstones their {n} entities in the store"),
    "restore": N_("creates their {n} records again"),
    "opt_out": N_("records {n} opt-outs"),
    "detach": N_("stops syncing their {n} entities"),
}


def _allowing(rule: Rule, plan: RulePlan) -> str:
    """What overriding the guard would do with the vanished records (policy-specific)."""
    if not plan.lost:
        return ""
    effect = _ALLOWING.get(rule.on_remote_delete, "")
    return (
        _("allowing the pass {effect}; ").format(effect=_(effect).format(n=plan.lost))
        if effect
        else ""
    )


def _worth_applying(item: Item, links: dict[str, Any]) -> bool:
    if item.writes or item.problems:
        return True
    link = links.get(item.uid or "")
    return link is None or link.base != item.base or link.remote_etag != item.etag


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Planning makes many short-lived objects and no cycles worth collecting: the cyclic
    collector would walk the whole heap again and again (a third of planning 20,000 links)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
