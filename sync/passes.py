"""What the CLI makes of a plan or a pass: names for its items, its outcome (logged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.outcome import Outcome, log_pass
from sync.records import labels
from sync.store import Store

if TYPE_CHECKING:
    from sync.engine import RuleResult


def conflicts_waiting(store: Store) -> int:
    """Conflicts in the store that wait for a person's decision."""
    return sum(1 for c in store.conflicts() if c.resolved_at is None)


def pass_outcome(
    store: Store, results: list[RuleResult], next_pass: float | None = None
) -> Outcome:
    """The outcome of a pass over ``store`` (with the conflicts now waiting), logged."""
    outcome = Outcome.of(results, conflicts_waiting(store))
    log_pass(outcome, next_pass=next_pass)
    return outcome


def plan_labels(store: Store, results: list[RuleResult]) -> dict[str, str]:
    """A label for each entity the plans of ``results`` would touch, by uid."""
    return labels(store, [i.uid for r in results if r.plan for i in r.plan.items if i.uid])
