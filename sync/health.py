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

from sync.i18n import N_, _
from sync.model import utcnow
from sync.store import Store

OK, WARNING, CRITICAL = 0, 1, 2
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL"}


@dataclass
class Health:
    """The verdict and the reasons for it, one line each."""

    state: int = OK
    reasons: list[str] = field(default_factory=list)
    #: The reasons in the user's language, for :meth:`line` (``reasons`` stay English: JSON).
    shown: list[str] = field(default_factory=list)

    def add(self, state: int, reason: str, **values: object) -> None:
        """Note a reason (a message with ``{placeholders}`` filled from ``values``); the
        worst state wins."""
        self.state = max(self.state, state)
        self.reasons.append(f"{STATES[state]}: {reason.format(**values)}")
        self.shown.append(_(reason).format(**values))

    def line(self) -> str:
        """The plugin's one output line."""
        if not self.reasons:
            return "CONNECTOR OK - " + _("the last pass of every target went through")
        shown = "; ".join(self.shown)
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
        health.add(CRITICAL, N_("no sync pass recorded yet"))
    stale = timedelta(seconds=interval * stale_intervals)
    for done in passes:
        target = done["target"]
        age = now - _parse(done["finished_at"])
        if age > stale:
            health.add(
                CRITICAL,
                N_(
                    "{target}: no pass for {minutes:.0f} min "
                    "(more than {intervals} intervals of {interval:.0f} s)"
                ),
                target=target,
                minutes=age.total_seconds() / 60,
                intervals=stale_intervals,
                interval=interval,
            )
        errors = done.get("errors")
        if errors is None:  # a pass recorded before the figures were
            errors = int(str(done["outcome"]).startswith("failed"))
        if errors:
            health.add(
                CRITICAL,
                N_("{target}: last pass {outcome}"),
                target=target,
                outcome=done["outcome"],
            )
        elif done.get("failures"):
            health.add(
                WARNING,
                N_("{target}: {count} item(s) failed in the last pass"),
                target=target,
                count=done["failures"],
            )
    limit = timedelta(hours=conflict_hours)
    old = [
        c for c in store.conflicts() if c.resolved_at is None and now - _parse(c.created_at) > limit
    ]
    if old:
        health.add(
            WARNING,
            N_(
                "{count} conflict(s) wait longer than {hours:g} h for a person "
                "(oldest #{oldest}; see `connector conflicts list`)"
            ),
            count=len(old),
            hours=conflict_hours,
            oldest=old[0].id,
        )
    return health
