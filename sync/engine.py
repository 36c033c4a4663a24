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
from typing import Any

from connector.base import Collection, Target, content_hash
from connector.errors import ConnectorError, CredentialsError, Fatal, RetryLater
from mappings.schema import Rule, collection_name
from sync.apply import Tally
from sync.catalog import Catalog
from sync.engine_core import EngineCore as EngineCore
from sync.engine_core import Options as Options
from sync.engine_core import RuleResult as RuleResult
from sync.engine_core import field_keys as field_keys
from sync.engine_core import rule_key as rule_key
from sync.engine_guard import SCOPE_MIN as SCOPE_MIN
from sync.engine_guard import Guard
from sync.engine_items import OUTAGE_STREAK as OUTAGE_STREAK
from sync.engine_items import THROTTLE_STOP as THROTTLE_STOP
from sync.engine_items import ItemLoop
from sync.engine_pull import Pulling
from sync.logs import event, scrub
from sync.model import utcnow
from sync.outcome import ITEM_UNAVAILABLE, ItemFailure, withheld
from sync.plan import plan_rule
from sync.plan_skip import mark_for

log = logging.getLogger(__name__)

#: Rounds of pull → plan → apply per rule and pass: a round that wrote to the platform is
#: followed by another, so the pass ends with the platform's own view of our writes absorbed.
SETTLE_ROUNDS = 3


class Engine(Guard, Pulling, ItemLoop):
    """Runs passes of one mapping against its targets and the store."""

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
        with _without_cyclic_gc():  # reading the store makes an object per entity, no cycles
            catalog = self.cache.begin(self.store)
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
        self.cache.end(clean=all(r.error is None and not r.failures for r in results))
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
        seq = catalog.current_seq(self.store)
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
                rule,
                target,
                collection,
                catalog,
                result.plan,
                applied,
                progress,
                outcomes,
                links=snapshot.links,
            )
        finally:
            result.merge(applied, outcomes)
        if not finished:
            return False
        self.store.save_cursor(
            self.key(rule), rule.target, changes.cursor, content_hash(collection.options)
        )
        # A round whose items all went through leaves its mark: the next round merges only
        # what changed since. After a failure nothing is taken as settled.
        clean = not applied.failed and all(f is None for f in outcomes.values())
        mark = None
        if clean and seq is not None:
            mark = mark_for(view, seq, self.today(), self.store.link_count(self.key(rule)))
        self.store.save_plan_mark(self.key(rule), mark)
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
