"""What the store hands out (links, conflicts, journal entries) and what its tables share:
the connection and the transaction. Rows are read by column name, never by position, so a
migration that adds a column or rebuilds a table in another order shifts no value.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync import crashpoint
from sync.model import utcnow


class StaleWrite(Exception):
    """An entity changed in the store since the writer read it (another writer came first)."""

    def __init__(self, uid: str, expected: int, current: int) -> None:
        super().__init__(f"{uid}: read at revision {expected}, the store has {current}")
        self.uid, self.expected, self.current = uid, expected, current


class Unread:
    """The type of :data:`UNREAD`: no expectation given."""


UNREAD = Unread()


def dumps(value: Any) -> str:
    """``value`` as the store keeps JSON: keys sorted, text as is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class Link:
    """A canonical entity's counterpart on a target, with the values both sides agreed on."""

    rule: str
    uid: str
    target: str
    remote_id: str
    remote_etag: str | None
    #: The mapped field values (remote space) both sides last agreed on.
    base: dict[str, Any]
    #: The remote record's fields as last read, for passes where the platform reports only
    #: what changed.
    seen: dict[str, Any]
    content_hash: str
    synced_at: str = field(default_factory=lambda: utcnow().isoformat())


@dataclass
class Conflict:
    """A field both sides changed differently, waiting for a person."""

    id: int
    rule: str
    uid: str
    field: str
    base: Any
    canonical: Any
    remote: Any
    created_at: str
    resolved_at: str | None = None
    resolution: Any = None
    applied_at: str | None = None

    @property
    def pending(self) -> bool:
        """Whether the conflict still needs the engine: unresolved, or resolved, not applied."""
        return self.applied_at is None


@dataclass
class JournalEntry:
    """A remote write that was started but not yet committed."""

    id: int
    rule: str
    uid: str
    op: str
    remote_id: str | None
    intent: dict[str, Any]
    started_at: str


class Tables:
    """The connection and transaction the store's tables share (see :class:`sync.store.Store`)."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self._depth = 0

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """The rows of a query, each readable by column name."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, args).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one transaction (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        crashpoint.transaction()
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0


def conflict_of(row: sqlite3.Row) -> Conflict:
    """A conflict from its row, read by column name."""
    return Conflict(
        id=row["id"],
        rule=row["rule"],
        uid=row["uid"],
        field=row["field"],
        base=json.loads(row["base"]),
        canonical=json.loads(row["canonical"]),
        remote=json.loads(row["remote"]),
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        resolution=json.loads(row["resolution"]) if row["resolution"] is not None else None,
        applied_at=row["applied_at"],
    )
