"""The store's schema: its version and the migration to each version from the one before.

:meth:`sync.store.Store.open` applies the missing ones in order, each whole or not at all.
"""

from __future__ import annotations

SCHEMA_VERSION = 7

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
    # A change sequence (issue 14): every entity or link write takes the next number, so a
    # pass plans again only what changed since the rule's last complete plan (``planned``).
    # Written by triggers, so no write path can forget it. Self-contained, so it may be
    # renumbered when merged.
    6: """
    CREATE TABLE change_seq (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        dropped INTEGER NOT NULL,
        unlinked INTEGER NOT NULL
    );
    INSERT INTO change_seq VALUES (1, 0, 0, 0);
    ALTER TABLE entities ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE links ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cursors ADD COLUMN planned TEXT;
    CREATE INDEX entities_seq ON entities(seq);
    CREATE INDEX links_seq ON links(rule, seq);
    CREATE TRIGGER entities_seq_insert AFTER INSERT ON entities BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE entities SET seq = (SELECT seq FROM change_seq) WHERE uid = NEW.uid;
    END;
    CREATE TRIGGER entities_seq_update
    AFTER UPDATE OF uid, kind, cohorts, data, updated_at, deleted_at, revision ON entities BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE entities SET seq = (SELECT seq FROM change_seq) WHERE uid = NEW.uid;
    END;
    CREATE TRIGGER entities_seq_delete AFTER DELETE ON entities BEGIN
        UPDATE change_seq SET seq = seq + 1, dropped = seq + 1;
    END;
    CREATE TRIGGER links_seq_insert AFTER INSERT ON links BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE links SET seq = (SELECT seq FROM change_seq)
        WHERE rule = NEW.rule AND uid = NEW.uid;
    END;
    CREATE TRIGGER links_seq_delete AFTER DELETE ON links BEGIN
        UPDATE change_seq SET seq = seq + 1, unlinked = seq + 1;
    END;
    CREATE TRIGGER links_seq_update
    AFTER UPDATE OF rule, uid, target, remote_id, remote_etag, base, seen, content_hash ON links
    BEGIN
        UPDATE change_seq SET seq = seq + 1;
        UPDATE links SET seq = (SELECT seq FROM change_seq)
        WHERE rule = NEW.rule AND uid = NEW.uid;
    END;
    """,
    # Erased addresses (``connector forget``): a keyed hash of each address an erased person
    # had, so an import does not bring them back; the key is random per store and made on the
    # first erasure (see :mod:`sync.suppression`). Self-contained, so it may be renumbered
    # when merged.
    7: """
    CREATE TABLE erasure_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
    );
    CREATE TABLE erased_addresses (
        digest TEXT PRIMARY KEY,
        erased_on TEXT NOT NULL,
        receipt INTEGER
    );
    """,
}

#: The figures a pass records per target (counts; ``duration`` in seconds; ``errors``: rules
