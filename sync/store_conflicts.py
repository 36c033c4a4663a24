"""The store's records for people: conflicts awaiting them, passes and erasure receipts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sync.model import utcnow
from sync.store_rows import UNREAD, Conflict, Tables, Unread, conflict_of
from sync.store_rows import dumps as _dumps

#: that did not finish).
PASS_FIGURES = ("duration", "requests", "changes", "conflicts", "failures", "withheld", "errors")

#: Every column a :class:`Conflict` is read from, by name.
_SELECT = (
    "SELECT id, rule, uid, field, base, canonical, remote, created_at, resolved_at, "
    "resolution, applied_at FROM conflicts"
)


class ConflictTables(Tables):
    """The ``conflicts``, ``passes`` and ``receipts`` tables."""

    # -- conflicts ----------------------------------------------------------------------

    def add_conflict(
        self, rule: str, uid: str, field: str, base: Any, canonical: Any, remote: Any
    ) -> int:
        """Park a conflict (replacing an open one on the same field); returns its id."""
        with self.transaction():
            self.db.execute(
                "DELETE FROM conflicts WHERE rule=? AND uid=? AND field=? AND applied_at IS NULL",
                (rule, uid, field),
            )
            cur = self.db.execute(
                "INSERT INTO conflicts(rule, uid, field, base, canonical, remote, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    rule,
                    uid,
                    field,
                    _dumps(base),
                    _dumps(canonical),
                    _dumps(remote),
                    utcnow().isoformat(),
                ),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def conflicts(self, *, open_only: bool = True) -> list[Conflict]:
        """Conflicts, oldest first."""
        sql = _SELECT + (" WHERE applied_at IS NULL" if open_only else "")
        return [conflict_of(row) for row in self.rows(sql + " ORDER BY id")]

    def conflict(self, conflict_id: int) -> Conflict | None:
        """One conflict by id."""
        rows = self.rows(_SELECT + " WHERE id = ?", (conflict_id,))
        return conflict_of(rows[0]) if rows else None

    def open_conflict(self, rule: str, uid: str, field: str) -> Conflict | None:
        """The open conflict on a field, if any."""
        rows = self.rows(
            _SELECT + " WHERE rule=? AND uid=? AND field=? AND applied_at IS NULL",
            (rule, uid, field),
        )
        return conflict_of(rows[0]) if rows else None

    def resolve_conflict(self, conflict_id: int, value: Any) -> None:
        """Record the value a person chose; the next pass writes it to both sides."""
        with self.transaction():
            self.db.execute(
                "UPDATE conflicts SET resolved_at = ?, resolution = ? WHERE id = ?",
                (utcnow().isoformat(), _dumps(value), conflict_id),
            )

    def close_conflict(self, conflict_id: int, *, read: str | Unread | None = UNREAD) -> bool:
        """Mark a conflict as settled on both sides (resolution applied, or they agreed).

        With ``read`` (the ``resolved_at`` the caller saw) it is closed only if nobody
        resolved it since: a person's resolution made meanwhile is kept for the next pass.
        Returns whether it was closed.
        """
        with self.transaction():
            now = utcnow().isoformat()
            sql = (
                "UPDATE conflicts SET applied_at = ?, resolved_at = COALESCE(resolved_at, ?) "
                "WHERE id = ? AND applied_at IS NULL"
            )
            args: tuple[Any, ...] = (now, now, conflict_id)
            if not isinstance(read, Unread):
                sql += " AND resolved_at IS ?"
                args += (read,)
            return self.db.execute(sql, args).rowcount == 1

    def pending_conflicts(self, rule: str) -> list[Conflict]:
        """A rule's conflicts the engine still has to act on."""
        rows = self.rows(_SELECT + " WHERE rule = ? AND applied_at IS NULL ORDER BY id", (rule,))
        return [conflict_of(row) for row in rows]

    # -- passes and receipts ------------------------------------------------------------

    def record_pass(
        self,
        target: str,
        started: datetime,
        outcome: str,
        summary: dict[str, Any],
        figures: dict[str, float] | None = None,
    ) -> None:
        """Remember what a pass did on a target (``figures``: see :data:`PASS_FIGURES`)."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO passes(target, started_at, finished_at, outcome, summary, figures) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    target,
                    started.isoformat(),
                    utcnow().isoformat(),
                    outcome,
                    _dumps(summary),
                    _dumps(figures or {}),
                ),
            )

    def last_passes(self) -> list[dict[str, Any]]:
        """The latest pass per target, with its figures."""
        rows = self.db.execute(
            "SELECT target, started_at, finished_at, outcome, summary, figures FROM passes "
            "WHERE id IN (SELECT MAX(id) FROM passes GROUP BY target) ORDER BY target"
        ).fetchall()
        return [
            {
                "target": r[0],
                "started_at": r[1],
                "finished_at": r[2],
                "outcome": r[3],
                "summary": json.loads(r[4]),
                **{name: json.loads(r[5]).get(name) for name in PASS_FIGURES},
            }
            for r in rows
        ]

    def add_receipt(self, summary: dict[str, Any]) -> int:
        """Keep a receipt (no personal data) of an erasure."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO receipts(created_at, summary) VALUES (?, ?)",
                (utcnow().isoformat(), _dumps(summary)),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid
