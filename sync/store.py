"""The embedded store: one SQLite file in WAL mode.

Tables: ``entities`` (canonical records as JSON, with tombstones), ``links`` (rule, uid,
remote id, remote etag, the *base* both sides last agreed on, content hash), ``cursors`` (per
target collection), ``journal`` (remote writes in flight), ``conflicts`` (awaiting a person),
``passes`` (what each sync pass did, per target) and ``receipts`` (erasures, without personal
data). The schema carries a version and migrates forward on open.

Every write method commits on its own unless it runs inside :meth:`Store.transaction`, so a
sync pass commits per item.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sync import crashpoint
from sync.errors import StoreError
from sync.i18n import _
from sync.model import Entity, entity_type, utcnow

SCHEMA_VERSION = 5

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE entities (
        uid TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        cohorts TEXT NOT NULL DEFAULT '[]',
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE INDEX entities_kind ON entities(kind);
    CREATE TABLE links (
        rule TEXT NOT NULL,
        uid TEXT NOT NULL,
        target TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        remote_etag TEXT,
        base TEXT NOT NULL,
        seen TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (rule, uid),
        UNIQUE (rule, remote_id)
    );
    CREATE TABLE cursors (
        rule TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        cursor TEXT,
        options_hash TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        uid TEXT NOT NULL,
        op TEXT NOT NULL,
        remote_id TEXT,
        intent TEXT NOT NULL,
        started_at TEXT NOT NULL
    );
    CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        uid TEXT NOT NULL,
        field TEXT NOT NULL,
        base TEXT NOT NULL,
        canonical TEXT NOT NULL,
        remote TEXT NOT NULL,
        created_at TEXT NOT NULL,
        resolved_at TEXT,
        resolution TEXT,
        applied_at TEXT
    );
    CREATE UNIQUE INDEX conflicts_open ON conflicts(rule, uid, field) WHERE applied_at IS NULL;
    CREATE TABLE passes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE TABLE receipts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    """,
    # A revision per entity, raised by every write: a writer that read revision N writes
    # only over N, so two writers (a pass, an import) never lose each other's changes.
    2: """
    ALTER TABLE entities ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
    """,
    # Roles belong to a cohort (issue 10): a person's `roles` and `cohorts` become
    # `memberships`, each cohort with every role the person had. Self-contained (it reads and
    # writes only `entities.data` of people), so it may be renumbered when merged.
    3: """
    UPDATE entities SET data = json_remove(
        json_set(
            data,
            '$.memberships',
            (
                SELECT json_group_object(c.value, json(json_extract(entities.data, '$.roles')))
                FROM json_each(entities.data, '$.cohorts') AS c
            )
        ),
        '$.roles',
        '$.cohorts'
    )
    WHERE kind = 'person' AND json_type(data, '$.memberships') IS NULL;
    """,
    # The figures of each pass per target, for `connector status --json` and `--check`.
    4: """
    ALTER TABLE passes ADD COLUMN figures TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX passes_target ON passes(target, id);
    """,
    # The last-seen raw text of each remote record a target keeps (CalDAV events, issue 14),
    # so a push merges into what other clients put there without reading it again first.
    # Self-contained, so it may be renumbered when merged.
    5: """
    CREATE TABLE remote_bodies (
        target TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        etag TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (target, remote_id)
    );
    """,
}

#: The figures a pass records per target (counts; ``duration`` in seconds; ``errors``: rules
#: that did not finish).
PASS_FIGURES = ("duration", "requests", "changes", "conflicts", "failures", "withheld", "errors")


class StaleWrite(Exception):
    """An entity changed in the store since the writer read it (another writer came first)."""

    def __init__(self, uid: str, expected: int, current: int) -> None:
        super().__init__(f"{uid}: read at revision {expected}, the store has {current}")
        self.uid, self.expected, self.current = uid, expected, current


class Unread:
    """The type of :data:`UNREAD`: no expectation given."""


UNREAD = Unread()


def _dumps(value: Any) -> str:
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


class Store:
    """The canonical store. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        self._depth = 0

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Store:
        """Open (and create or migrate) the store at ``path``."""
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(
                _("{path}: no store here (run `connector import` or `connector init`)").format(
                    path=path
                )
            )
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                _("{path}: cannot open the store: {reason}").format(path=path, reason=exc)
            ) from exc
        store = cls(db, path)
        store._migrate()
        return store

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the open file (0 for a new, empty file)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            version = self.schema_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a store file ({exc})") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer cohort-connector (schema {version}, "
                f"this one knows up to {SCHEMA_VERSION}); upgrade the tool"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript commits on its own, so the script carries its own transaction:
            # a migration is applied whole or not at all.
            self.db.executescript(
                f"BEGIN IMMEDIATE; {_MIGRATIONS[target]} PRAGMA user_version = {target}; COMMIT;"
            )

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

    # -- entities -----------------------------------------------------------------------

    def put(self, entity: Entity, *, expect: int | None = None) -> int:
        """Insert or replace an entity (clearing a tombstone); returns its new revision.

        With ``expect`` (the revision the writer read; 0: it read no such entity) the write
        happens only if nobody wrote the entity since, else :class:`StaleWrite` is raised and
        nothing is written.
        """
        crashpoint.put()
        with self.transaction():
            current = self.revision(entity.uid)
            if expect is not None and current != expect:
                raise StaleWrite(entity.uid, expect, current)
            self.db.execute(
                "INSERT INTO entities(uid, kind, cohorts, data, updated_at, deleted_at, revision) "
                "VALUES (?, ?, ?, ?, ?, NULL, 1) ON CONFLICT(uid) DO UPDATE SET "
                "kind=excluded.kind, cohorts=excluded.cohorts, data=excluded.data, "
                "updated_at=excluded.updated_at, deleted_at=NULL, revision=revision + 1",
                (
                    entity.uid,
                    entity.kind,
                    _dumps(sorted(entity.cohort_uids())),
                    entity.model_dump_json(),
                    entity.updated_at.isoformat(),
                ),
            )
        return current + 1

    def revision(self, uid: str) -> int:
        """How often ``uid`` was written (tombstoning included); 0 if it never was."""
        row = self.db.execute("SELECT revision FROM entities WHERE uid = ?", (uid,)).fetchone()
        return int(row[0]) if row else 0

    def revised(self) -> list[tuple[Entity, int]]:
        """Every live entity with its revision, read together (ordered by uid)."""
        rows = self.db.execute(
            "SELECT kind, data, revision FROM entities WHERE deleted_at IS NULL ORDER BY uid"
        ).fetchall()
        return [(entity_type(k).model_validate_json(data), int(rev)) for k, data, rev in rows]

    def get(self, uid: str, *, include_deleted: bool = False) -> Entity | None:
        """The entity with ``uid``, or None (tombstoned ones only if asked)."""
        row = self.db.execute(
            "SELECT kind, data, deleted_at FROM entities WHERE uid = ?", (uid,)
        ).fetchone()
        if row is None or (row[2] is not None and not include_deleted):
            return None
        return entity_type(row[0]).model_validate_json(row[1])

    def is_deleted(self, uid: str) -> bool:
        """Whether ``uid`` is a tombstone."""
        row = self.db.execute("SELECT deleted_at FROM entities WHERE uid = ?", (uid,)).fetchone()
        return row is not None and row[0] is not None

    def entities(self, kind: str | None = None, *, include_deleted: bool = False) -> list[Entity]:
        """All live entities (of ``kind``, if given), ordered by uid."""
        sql = "SELECT kind, data FROM entities WHERE (? IS NULL OR kind = ?)"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        rows = self.db.execute(sql + " ORDER BY uid", (kind, kind)).fetchall()
        return [entity_type(k).model_validate_json(data) for k, data in rows]

    def tombstone(self, uid: str) -> None:
        """Mark an entity deleted; its uid is never reused."""
        with self.transaction():
            self.db.execute(
                "UPDATE entities SET deleted_at = ?, revision = revision + 1 "
                "WHERE uid = ? AND deleted_at IS NULL",
                (utcnow().isoformat(), uid),
            )

    def counts(self) -> list[tuple[str, str, int]]:
        """(cohort, kind, count) of live entities; cohort '' for entities outside cohorts."""
        rows = self.db.execute(
            "SELECT kind, cohorts FROM entities WHERE deleted_at IS NULL"
        ).fetchall()
        tally: dict[tuple[str, str], int] = {}
        for kind, cohorts in rows:
            for cohort in json.loads(cohorts) or [""]:
                tally[(cohort, kind)] = tally.get((cohort, kind), 0) + 1
        return sorted((c, k, n) for (c, k), n in tally.items())

    # -- links --------------------------------------------------------------------------

    def links(self, rule: str) -> dict[str, Link]:
        """The links of ``rule``, by canonical uid."""
        rows = self.db.execute(
            "SELECT rule, uid, target, remote_id, remote_etag, base, seen, content_hash, "
            "synced_at FROM links WHERE rule = ?",
            (rule,),
        ).fetchall()
        return {
            r[1]: Link(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7], r[8])
            for r in rows
        }

    def save_link(self, link: Link) -> None:
        """Insert or replace a link."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    link.rule,
                    link.uid,
                    link.target,
                    link.remote_id,
                    link.remote_etag,
                    _dumps(link.base),
                    _dumps(link.seen),
                    link.content_hash,
                    utcnow().isoformat(),
                ),
            )

    def drop_link(self, rule: str, uid: str) -> None:
        """Forget a link."""
        with self.transaction():
            self.db.execute("DELETE FROM links WHERE rule = ? AND uid = ?", (rule, uid))

    def drop_links_of(self, uid: str) -> None:
        """Forget every link of an entity (used when erasing a person)."""
        with self.transaction():
            self.db.execute("DELETE FROM links WHERE uid = ?", (uid,))

    # -- remote bodies ------------------------------------------------------------------

    def body(self, target: str, remote_id: str) -> tuple[str, bytes] | None:
        """The last-seen raw text of a remote record and its etag (None: none kept)."""
        row = self.db.execute(
            "SELECT etag, body FROM remote_bodies WHERE target = ? AND remote_id = ?",
            (target, remote_id),
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def save_bodies(self, target: str, bodies: Iterable[tuple[str, str, bytes]]) -> None:
        """Keep (remote id, etag, raw text) per record, replacing what was kept."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO remote_bodies (target, remote_id, etag, body) "
                "VALUES (?, ?, ?, ?)",
                [(target, rid, etag, body) for rid, etag, body in bodies],
            )

    def drop_bodies(self, target: str, remote_ids: Iterable[str]) -> None:
        """Forget the kept text of records that are gone."""
        with self.transaction():
            self.db.executemany(
                "DELETE FROM remote_bodies WHERE target = ? AND remote_id = ?",
                [(target, rid) for rid in remote_ids],
            )

    # -- cursors ------------------------------------------------------------------------

    def cursor(self, rule: str) -> tuple[str | None, str | None]:
        """(cursor, options hash) stored for a rule's collection; (None, None) if none yet."""
        row = self.db.execute(
            "SELECT cursor, options_hash FROM cursors WHERE rule = ?", (rule,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_cursor(self, rule: str, target: str, cursor: str | None, options_hash: str) -> None:
        """Remember where a rule's collection was read up to."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)",
                (rule, target, cursor, options_hash, utcnow().isoformat()),
            )

    def reset_cursor(self, rule: str) -> None:
        """Forget a rule's cursor, so the next pass lists everything."""
        with self.transaction():
            self.db.execute("DELETE FROM cursors WHERE rule = ?", (rule,))

    # -- journal ------------------------------------------------------------------------

    def journal_begin(
        self, rule: str, uid: str, op: str, remote_id: str | None, intent: dict[str, Any]
    ) -> int:
        """Record a remote write about to be sent; returns the entry id."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO journal(rule, uid, op, remote_id, intent, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (rule, uid, op, remote_id, _dumps(intent), utcnow().isoformat()),
            )
        crashpoint.journalled()
        assert cur.lastrowid is not None
        return cur.lastrowid

    def journal_end(self, entry_id: int) -> None:
        """The write was committed (link saved): forget the entry."""
        with self.transaction():
            self.db.execute("DELETE FROM journal WHERE id = ?", (entry_id,))

    def journal(self, rule: str | None = None) -> list[JournalEntry]:
        """Writes in flight (left over from a crash), oldest first."""
        rows = self.db.execute(
            "SELECT id, rule, uid, op, remote_id, intent, started_at FROM journal "
            "WHERE (? IS NULL OR rule = ?) ORDER BY id",
            (rule, rule),
        ).fetchall()
        return [JournalEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

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
        sql = "SELECT * FROM conflicts" + (" WHERE applied_at IS NULL" if open_only else "")
        rows = self.db.execute(sql + " ORDER BY id").fetchall()
        return [_conflict(row) for row in rows]

    def conflict(self, conflict_id: int) -> Conflict | None:
        """One conflict by id."""
        row = self.db.execute("SELECT * FROM conflicts WHERE id = ?", (conflict_id,)).fetchone()
        return _conflict(row) if row else None

    def open_conflict(self, rule: str, uid: str, field: str) -> Conflict | None:
        """The open conflict on a field, if any."""
        row = self.db.execute(
            "SELECT * FROM conflicts WHERE rule=? AND uid=? AND field=? AND applied_at IS NULL",
            (rule, uid, field),
        ).fetchone()
        return _conflict(row) if row else None

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
        rows = self.db.execute(
            "SELECT * FROM conflicts WHERE rule = ? AND applied_at IS NULL ORDER BY id", (rule,)
        ).fetchall()
        return [_conflict(row) for row in rows]

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


def _conflict(row: tuple[Any, ...]) -> Conflict:
    return Conflict(
        id=row[0],
        rule=row[1],
        uid=row[2],
        field=row[3],
        base=json.loads(row[4]),
        canonical=json.loads(row[5]),
        remote=json.loads(row[6]),
        created_at=row[7],
        resolved_at=row[8],
        resolution=json.loads(row[9]) if row[9] is not None else None,
        applied_at=row[10],
    )
