"""What the council's page shows and does, from the same store and engine as the CLI.

Reading: the last pass per cohort and target (the store's ``passes`` table, as
``connector status`` reports it), the daemon's health (``connector status --check``), the open
conflicts named as a person reads them (``connector conflicts``), each cohort's embargo.
Doing: settling a conflict (:func:`sync.settle.settle`, as ``connector conflicts resolve``)
and one pass (:func:`sync.runner.open_run` and :meth:`sync.runner.Run.sync` under the store's
lock, as ``connector sync``). Nothing here is a second implementation of either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.platform import SharedWithGroups
from mappings.schema import MappingFile
from sync.config import Config
from sync.daemon import store_lock
from sync.factory import berlin_now
from sync.health import Health
from sync.health import check as health_check
from sync.model import Cohort, Tandem
from sync.outcome import Outcome, log_pass
from sync.records import labels as record_labels
from sync.runner import Run, load_mappings, open_run
from sync.settle import settle
from sync.store import Conflict, Store


@dataclass
class PassRow:
    """The last pass of one target for one cohort's rules."""

    cohort: str
    target: str
    finished_at: str
    outcome: str
    changes: int
    failures: int
    withheld: int
    conflicts: int


@dataclass
class Embargo:
    """A cohort's reveal date and what it holds back."""

    cohort: str
    title: str
    reveal_on: date | None
    revealed: bool
    #: Tandems of the cohort still secret today (they and their meetings stay off the
    #: mentees' and mentors' platforms).
    secret_tandems: int
    #: Items the last passes held back for the cohort's rules.
    withheld: int


@dataclass
class View:
    """Everything the page shows."""

    passes: list[PassRow]
    health: Health
    conflicts: list[Conflict]
    names: dict[str, str]
    embargo: list[Embargo]
    daemon: bool
    doctor: list[str] | None = None
    notes: list[str] = field(default_factory=list)


def council_groups(config: Config) -> set[str]:
    """The Nextcloud groups that may see the page.

    ``council_group`` of each mapping; a mapping without it counts the groups its Deck boards
    are shared with for editing (the council works on those boards).
    """
    groups: set[str] = set()
    for mapping in load_mappings(config):
        if mapping.council_group:
            groups.add(mapping.council_group)
            continue
        for rule in mapping.rules:
            if isinstance(rule.table, SharedWithGroups):
                groups |= rule.table.editing_groups()
    return groups


def _cohort_of_rules(mappings: list[MappingFile]) -> dict[str, str]:
    return {
        rule.name: mapping.cohort or mapping.programme
        for mapping in mappings
        for rule in mapping.rules
    }


def pass_rows(store: Store, mappings: list[MappingFile]) -> list[PassRow]:
    """The last pass per target, split by the cohorts whose rules it ran."""
    cohort_of = _cohort_of_rules(mappings)
    rows: dict[tuple[str, str], PassRow] = {}
    for done in store.last_passes():
        for rule in done["summary"].get("rules", []):
            cohort = cohort_of.get(rule.get("rule", ""), "?")
            row = rows.setdefault(
                (cohort, done["target"]),
                PassRow(cohort, done["target"], done["finished_at"], done["outcome"], 0, 0, 0, 0),
            )
            counts: dict[str, int] = rule.get("counts") or {}
            row.changes += sum(n for action, n in counts.items() if action != "conflict")
            row.conflicts += counts.get("conflict", 0)
            row.failures += int(rule.get("failures") or 0) + (1 if rule.get("error") else 0)
            row.withheld += int(rule.get("withheld") or 0)
    return sorted(rows.values(), key=lambda r: (r.cohort, r.target))


def embargo(store: Store, rows: list[PassRow], today: date) -> list[Embargo]:
    """Each cohort's reveal date, its secret tandems and what the last passes held back."""
    secret: dict[str, int] = {}
    for tandem in store.entities("tandem"):
        if isinstance(tandem, Tandem):
            secret[tandem.cohort] = secret.get(tandem.cohort, 0) + 1
    found = []
    for cohort in store.entities("cohort"):
        if not isinstance(cohort, Cohort):
            continue
        revealed = cohort.revealed(today)
        found.append(
            Embargo(
                cohort.uid,
                cohort.title,
                cohort.reveal_on,
                revealed,
                0 if revealed else secret.get(cohort.uid, 0),
                sum(r.withheld for r in rows if r.cohort == cohort.uid),
            )
        )
    return sorted(found, key=lambda e: e.cohort)


def gather(config: Config, store: Store, *, daemon: bool, today: date | None = None) -> View:
    """What the page shows, read from ``store``."""
    mappings = load_mappings(config)
    rows = pass_rows(store, mappings)
    health = health_check(
        store,
        interval=config.sync.interval,
        stale_intervals=config.sync.stale_intervals,
        conflict_hours=config.sync.conflict_warn_hours,
    )
    conflicts = store.conflicts()
    names = record_labels(store, [c.uid for c in conflicts])
    return View(
        rows,
        health,
        conflicts,
        names,
        embargo(store, rows, today or berlin_now().date()),
        daemon,
    )


def resolve(config: Config, conflict_id: int, take: str) -> tuple[Conflict, Any]:
    """Settle a conflict exactly as ``connector conflicts resolve ID --take TAKE`` does."""
    with Store.open(config.store) as store:
        return settle(config, store, conflict_id, take)


class Passes:
    """Runs passes for the page's "sync now" and, optionally, as the one daemon.

    Without the daemon every pass takes the store's lock as ``connector sync`` does (a
    ``LockHeld`` error says that the systemd daemon or another sync is at work). With the
    daemon this process holds the lock from :meth:`hold` on, and passes of the loop and of
    "sync now" take turns on one in-process lock.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.turn = threading.Lock()
        self.held = False

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the store's lock for the duration (the daemon's lifetime)."""
        with store_lock(self.config.store):
            self.held = True
            try:
                yield
            finally:
                self.held = False

    def one(self) -> Outcome:
        """One pass of every mapping, logged like ``connector sync``'s; its outcome."""
        lock = nullcontext() if self.held else store_lock(self.config.store)
        with self.turn, lock, open_run(self.config) as run:
            results = run.sync()
            waiting = sum(1 for c in run.store.conflicts() if c.resolved_at is None)
            outcome = Outcome.of(results, waiting)
        log_pass(outcome)
        return outcome

    def run_pass(self, run: Run, resting: Any) -> Any:
        """One pass of the daemon loop (``sync.daemon.watch``'s ``run_pass``), in turn."""
        with self.turn:
            return run.sync(None, resting)
