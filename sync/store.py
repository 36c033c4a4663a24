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

import sqlite3
from pathlib import Path

from sync.errors import StoreError
from sync.i18n import _
from sync.store_changes import ChangeTables
from sync.store_conflicts import PASS_FIGURES as PASS_FIGURES
from sync.store_conflicts import ConflictTables
from sync.store_entities import EntityTable
from sync.store_links import LinkTables
from sync.store_rows import UNREAD as UNREAD
from sync.store_rows import Conflict as Conflict
from sync.store_rows import JournalEntry as JournalEntry
from sync.store_rows import Link as Link
from sync.store_rows import StaleWrite as StaleWrite
from sync.store_rows import Unread as Unread
from sync.store_schema import _MIGRATIONS as _MIGRATIONS
from sync.store_schema import SCHEMA_VERSION as SCHEMA_VERSION


class Store(EntityTable, LinkTables, ConflictTables, ChangeTables):
    """The canonical store. Open with :meth:`open`; close with :meth:`close`."""

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
            raise StoreError(
                _("{path}: not a store file ({reason})").format(path=self.path, reason=exc)
            ) from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                _(
                    "{path}: written by a newer cohort-connector (schema {version}, "
                    "this one knows up to {known}); upgrade the tool"
                ).format(path=self.path, version=version, known=SCHEMA_VERSION)
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript commits on its own, so the script carries its own transaction:
            # a migration is applied whole or not at all.
            self.db.executescript(
                f"BEGIN IMMEDIATE; {_MIGRATIONS[target]} PRAGMA user_version = {target}; COMMIT;"
            )
