"""The store's sync state per rule: links, remote bodies, cursors and the journal."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sync import crashpoint
from sync.model import utcnow
from sync.store_rows import JournalEntry, Link, Tables
from sync.store_rows import dumps as _dumps


class StoredLink(Link):
    """A link as read from the store: its base and last-seen copy are decoded from their JSON
    when first used (a quiet pass uses them only for the records it plans, issue 14)."""

    _base: dict[str, Any] | str
    _seen: dict[str, Any] | str

    @property
    def base(self) -> dict[str, Any]:
        if isinstance(self._base, str):
            self._base = json.loads(self._base)
        assert isinstance(self._base, dict)
        return self._base

    @base.setter
    def base(self, value: dict[str, Any] | str) -> None:
        self._base = value

    @property
    def seen(self) -> dict[str, Any]:
        if isinstance(self._seen, str):
            self._seen = json.loads(self._seen)
        assert isinstance(self._seen, dict)
        return self._seen

    @seen.setter
    def seen(self, value: dict[str, Any] | str) -> None:
        self._seen = value


class LinkTables(Tables):
    """The ``links``, ``remote_bodies``, ``cursors`` and ``journal`` tables."""

    # -- links --------------------------------------------------------------------------

    def links(self, rule: str) -> dict[str, Link]:
        """The links of ``rule``, by canonical uid."""
        return self.links_where("rule = ?", (rule,))

    def links_where(self, where: str, params: tuple[Any, ...]) -> dict[str, Link]:
        """The links matching an SQL condition, by canonical uid."""
        rows = self.db.execute(
            "SELECT rule, uid, target, remote_id, remote_etag, base, seen, content_hash, "
            "synced_at FROM links WHERE " + where,
            params,
        ).fetchall()
        return {r[1]: StoredLink(*r) for r in rows}

    def save_link(self, link: Link) -> None:
        """Insert or replace a link."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO links (rule, uid, target, remote_id, remote_etag, base, "
                "seen, content_hash, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                "INSERT OR REPLACE INTO cursors (rule, target, cursor, options_hash, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
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
        rows = self.rows(
            "SELECT id, rule, uid, op, remote_id, intent, started_at FROM journal "
            "WHERE (? IS NULL OR rule = ?) ORDER BY id",
            (rule, rule),
        )
        return [
            JournalEntry(
                r["id"],
                r["rule"],
                r["uid"],
                r["op"],
                r["remote_id"],
                json.loads(r["intent"]),
                r["started_at"],
            )
            for r in rows
        ]
