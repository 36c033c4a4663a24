"""The store's change sequence: what was written since a rule's last complete plan.

Every entity or link write takes the next number of one sequence (triggers of schema 6), so
a pass can ask which entities and links changed since a number it remembered, and plan only
those again (issue 14). A rule's cursor row keeps its :class:`PlanMark`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync.store_rows import Tables


@dataclass(frozen=True)
class PlanMark:
    """What a rule's last complete plan was made from: the store's sequence when its
    entities were read, the day it was planned for, and the hash of the rule as compiled."""

    seq: int
    today: str
    view: str
    #: How many links the rule had when the plan's round was done (None: not recorded). A
    #: later pass finding fewer knows links went missing outside a pass.
    links: int | None = None


@dataclass(frozen=True)
class Changed:
    """The entities written since a sequence number: their kinds by uid, and whether any
    entity row was removed outright since (then nobody can say what rendered from it)."""

    kinds: dict[str, str]
    dropped: bool


class ChangeTables(Tables):
    """The ``change_seq`` table and the ``seq`` columns of entities and links."""

    def change_seq(self) -> int:
        """The number of the latest write."""
        return int(self.db.execute("SELECT seq FROM change_seq").fetchone()[0])

    def changed_since(self, seq: int) -> Changed:
        """The entities (live or tombstoned) written after ``seq``."""
        rows = self.db.execute("SELECT uid, kind FROM entities WHERE seq > ?", (seq,)).fetchall()
        dropped, _ = self.removed_since(seq)
        return Changed({str(uid): str(kind) for uid, kind in rows}, dropped)

    def written_since(self, seq: int) -> list[tuple[str, int, bool]]:
        """(uid, revision, live) of each entity written after ``seq``."""
        rows = self.db.execute(
            "SELECT uid, revision, deleted_at IS NULL FROM entities WHERE seq > ?", (seq,)
        ).fetchall()
        return [(str(uid), int(rev), bool(live)) for uid, rev, live in rows]

    def entities_written_since(self, seq: int) -> list[tuple[str, str, str, int, bool]]:
        """(uid, kind, data, revision, live) of each entity written after ``seq``."""
        rows = self.db.execute(
            "SELECT uid, kind, data, revision, deleted_at IS NULL FROM entities WHERE seq > ?",
            (seq,),
        ).fetchall()
        return [(str(u), str(k), str(d), int(r), bool(live)) for u, k, d, r, live in rows]

    def removed_since(self, seq: int) -> tuple[bool, bool]:
        """Whether an entity row, and whether a link, was deleted after ``seq``."""
        dropped, unlinked = self.db.execute("SELECT dropped, unlinked FROM change_seq").fetchone()
        return int(dropped) > seq, int(unlinked) > seq

    def links_changed_since(self, rule: str, seq: int) -> set[str]:
        """The uids whose link in ``rule`` was written after ``seq``."""
        rows = self.db.execute(
            "SELECT uid FROM links WHERE rule = ? AND seq > ?", (rule, seq)
        ).fetchall()
        return {str(row[0]) for row in rows}

    def plan_mark(self, rule: str) -> PlanMark | None:
        """The mark of the rule's last complete plan (None: plan everything)."""
        row = self.db.execute("SELECT planned FROM cursors WHERE rule = ?", (rule,)).fetchone()
        if row is None or row[0] is None:
            return None
        data = json.loads(row[0])
        links = data.get("links")
        return PlanMark(
            int(data["seq"]), str(data["today"]), str(data["view"]),
            None if links is None else int(links),
        )  # fmt: skip

    def link_count(self, rule: str) -> int:
        """How many links ``rule`` has."""
        row = self.db.execute("SELECT count(*) FROM links WHERE rule = ?", (rule,)).fetchone()
        return int(row[0])

    def save_plan_mark(self, rule: str, mark: PlanMark | None) -> None:
        """Remember (or, with None, forget) the mark of the rule's last complete plan."""
        value = None if mark is None else json.dumps(mark.__dict__, sort_keys=True)
        with self.transaction():
            self.db.execute("UPDATE cursors SET planned = ? WHERE rule = ?", (value, rule))
