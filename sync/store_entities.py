"""The store's canonical entities: written with a revision, tombstoned, never reused."""

from __future__ import annotations

import json

from sync import crashpoint
from sync.model import Entity, entity_type, utcnow
from sync.store_rows import StaleWrite, Tables
from sync.store_rows import dumps as _dumps


class EntityTable(Tables):
    """The ``entities`` table."""

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
        rows = self.revised_rows()
        return [(entity_type(k).model_validate_json(data), rev) for _, k, data, rev in rows]

    def revised_rows(self) -> list[tuple[str, str, str, int]]:
        """(uid, kind, JSON, revision) of every live entity, read together, not decoded."""
        rows = self.db.execute(
            "SELECT uid, kind, data, revision FROM entities WHERE deleted_at IS NULL ORDER BY uid"
        ).fetchall()
        return [(str(uid), str(kind), data, int(rev)) for uid, kind, data, rev in rows]

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
