"""How a sync pass ended: one figure per kind of trouble and the exit code that says so.

Every failed item, every conflict that waits for a person and every rule that did not finish
shows in the exit code; items the embargo withholds are expected (for months) and do not.
When several apply, the most severe code wins, in the order of :data:`SEVERITY` (the README's
exit-code table states the same order): bad input first, conflicts last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from connector.errors import ConnectorError, RetryLater, TargetError
from mappings.filters import matches
from mappings.paths import Lookup
from mappings.schema import Rule
from sync.catalog import Catalog
from sync.errors import ConflictsPending
from sync.i18n import _
from sync.logs import event
from sync.model import Audience, Entity
from sync.rule_errors import annotated
from sync.scope import bears_tandem, tandems_visible

if TYPE_CHECKING:
    from sync.engine import RuleResult

log = logging.getLogger("sync.pass")

#: Exit codes from most to least severe. 3 bad input, 4 store, 5 credentials, 6 guard,
#: 8 platform failed (a rule or an item), 9 platform unavailable, 7 conflicts wait.
SEVERITY: tuple[int, ...] = (3, 4, 5, 6, 8, 9, 7)

#: Exit code of an item whose write failed: 9 if the platform was only unavailable, else 8.
ITEM_FAILED = TargetError.exit_code
ITEM_UNAVAILABLE = RetryLater.exit_code


@dataclass
class ItemFailure:
    """One record that did not sync this pass, with what went wrong."""

    key: str
    messages: list[str]
    exit_code: int = ITEM_FAILED


#: The kinds :func:`~sync.scope.bears_tandem` can be true for.
TANDEM_BEARING = frozenset({"tandem", "event"})


def withheld(
    rule: Rule,
    audience: Audience,
    lookup: Lookup,
    default_cohort: str | None,
    today: date,
) -> int:
    """How many entities ``rule`` would carry but the tandem embargo holds back today."""
    if rule.entity not in TANDEM_BEARING:
        return 0  # and no entity of the rule's kind needs reading
    count = 0
    for entity in _maybe_bearing(rule.entity, lookup):
        if not bears_tandem(entity) or not matches(rule, entity, lookup, default_cohort):
            continue
        if not tandems_visible(audience, entity, lookup, today):
            count += 1
    return count


def _maybe_bearing(kind: str, lookup: Lookup) -> list[Entity]:
    """The entities of ``kind`` that may bear a tandem: for events, those whose ``tandem`` is
    set, told from the stored value without building the others (a pass's catalog)."""
    if kind != "event" or not isinstance(lookup, Catalog):
        return lookup.all(kind)
    found = (lookup.get(u) for u in lookup.uids(kind) if lookup.value(u, "tandem") is not None)
    return [entity for entity in found if entity is not None]


def most_severe(codes: list[int]) -> int:
    """The code that wins among ``codes`` (0 when there is none)."""
    ranked = [c for c in SEVERITY if c in codes]
    if ranked:
        return ranked[0]
    others = [c for c in codes if c]
    return max(others) if others else 0


@dataclass
class Outcome:
    """The figures of one pass (or one plan) over every rule."""

    rules: int = 0
    changes: int = 0
    #: Conflicts parked by this pass.
    conflicts_new: int = 0
    #: Conflicts in the store that wait for a person's decision (after this pass).
    conflicts_waiting: int = 0
    withheld: int = 0
    failures: list[ItemFailure] = field(default_factory=list)
    #: (rule, error) of every rule that did not finish.
    rule_errors: list[tuple[str, ConnectorError]] = field(default_factory=list)

    @classmethod
    def of(cls, results: list[RuleResult], conflicts_waiting: int = 0) -> Outcome:
        """Add up the results of a pass."""
        outcome = cls(rules=len(results), conflicts_waiting=conflicts_waiting)
        for result in results:
            outcome.changes += sum(n for a, n in result.counts.items() if a != "conflict")
            outcome.conflicts_new += result.counts.get("conflict", 0)
            outcome.withheld += result.withheld
            outcome.failures += result.failures.values()
            if result.error is not None:
                outcome.rule_errors.append((result.rule, result.error))
        return outcome

    def exit_code(self) -> int:
        """What the command exits with: the most severe of everything that went wrong."""
        codes = [error.exit_code for _rule, error in self.rule_errors]
        codes += [failure.exit_code for failure in self.failures]
        if self.conflicts_waiting:
            codes.append(ConflictsPending.exit_code)
        return most_severe(codes)

    def error(self) -> ConnectorError | None:
        """The error the CLI reports (message, hint, exit code), or None for a clean pass."""
        code = self.exit_code()
        if not code:
            return None
        parts = []
        if self.rule_errors:
            names = ", ".join(rule for rule, _error in self.rule_errors)
            parts.append(
                _("{count} rule(s) did not finish ({names})").format(
                    count=len(self.rule_errors), names=names
                )
            )
        if self.failures:
            parts.append(_("{count} item(s) failed").format(count=len(self.failures)))
        if self.conflicts_waiting:
            parts.append(
                _("{count} conflict(s) wait for a person").format(count=self.conflicts_waiting)
            )
        first = next((e for _r, e in self.rule_errors if e.exit_code == code), None)
        message = "; ".join(parts)
        if first is not None:
            message += f": {first}"
        if first is not None:
            # The first rule's error, whole: its hint, problems and retry_after come with it.
            error = annotated(first, message)
        else:
            error = ConnectorError(message)
            if code == ConflictsPending.exit_code:
                error.hint = _(
                    "see `connector conflicts list` and settle them with `conflicts resolve`"
                )
            else:
                error.hint = _("the items named above are tried again at the next pass")
        error.exit_code = code
        return error

    def summary(self) -> dict[str, Any]:
        """The figures as JSON-able data."""
        return {
            "rules": self.rules,
            "changes": self.changes,
            "failures": len(self.failures),
            "conflicts": self.conflicts_new,
            "conflicts_waiting": self.conflicts_waiting,
            "withheld": self.withheld,
            "rules_failed": len(self.rule_errors),
            "exit_code": self.exit_code(),
        }

    def line(self) -> str:
        """One line with every count, for the end of a pass's summary."""
        return _(
            "{changes} change(s), {failed} failed, {new} new conflict(s), {waiting} waiting, "
            "{withheld} withheld (embargo), {unfinished} rule(s) not finished"
        ).format(
            changes=self.changes,
            failed=len(self.failures),
            new=self.conflicts_new,
            waiting=self.conflicts_waiting,
            withheld=self.withheld,
            unfinished=len(self.rule_errors),
        )


def log_pass(outcome: Outcome, next_pass: float | None = None) -> None:
    """One log record per pass, with its figures."""
    level = logging.WARNING if outcome.exit_code() else logging.INFO
    extra = {} if next_pass is None else {"next_pass": round(next_pass, 1)}
    event(log, level, "pass", **outcome.summary(), **extra)
