"""``connector status --check``: the store's health in the terms of a monitoring plugin.

Exit codes as Nagios/Icinga/Checkmk plugins use them: 0 OK, 1 WARNING, 2 CRITICAL. Critical:
no pass recorded, no pass for ``stale_intervals`` intervals, or a rule of the last pass did
not finish. Warning: items failed in the last pass, or a conflict waits longer than
``conflict_hours`` for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.model import utcnow
from sync.store import Store

OK, WARNING, CRITICAL = 0, 1, 2
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL"}


@dataclass
class Health:
    """The verdict and the reasons for it, one line each."""

    state: int = OK
    reasons: list[str] = field(default_factory=list)

    def add(self, state: int, reason: str) -> None:
        """Note a reason; the worst state wins."""
        self.state = max(self.state, state)
        self.reasons.append(f"{STATES[state]}: {reason}")

    def line(self) -> str:
        """The plugin's one output line."""
        if not self.reasons:
            return "CONNECTOR OK - the last pass of every target went through"
        shown = "; ".join(r.split(": ", 1)[1] for r in self.reasons)
        return f"CONNECTOR {STATES[self.state]} - {shown}"

    def data(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"state": STATES[self.state], "exit_code": self.state, "reasons": self.reasons}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def check(
    store: Store,
    *,
    interval: float,
    stale_intervals: int,
    conflict_hours: float,
    now: datetime | None = None,
) -> Health:
    """Judge the store's last passes and open conflicts."""
    now = now or utcnow()
    health = Health()
    passes = store.last_passes()
    if not passes:
        health.add(CRITICAL, "no sync pass recorded yet")
    stale = timedelta(seconds=interval * stale_intervals)
    for done in passes:
        target = done["target"]
        age = now - _parse(done["finished_at"])
        if age > stale:
            health.add(
                CRITICAL,
                f"{target}: no pass for {age.total_seconds() / 60:.0f} min "
                f"(more than {stale_intervals} intervals of {interval:.0f} s)",
            )
        errors = done.get("errors")
        if errors is None:  # a pass recorded before the figures were
            errors = int(str(done["outcome"]).startswith("failed"))
        if errors:
            health.add(CRITICAL, f"{target}: last pass {done['outcome']}")
        elif done.get("failures"):
            health.add(WARNING, f"{target}: {done['failures']} item(s) failed in the last pass")
    limit = timedelta(hours=conflict_hours)
    old = [
        c for c in store.conflicts() if c.resolved_at is None and now - _parse(c.created_at) > limit
    ]
    if old:
        health.add(
            WARNING,
            f"{len(old)} conflict(s) wait longer than {conflict_hours:g} h for a person "
            f"(oldest #{old[0].id}; see `connector conflicts list`)",
        )
    return health
