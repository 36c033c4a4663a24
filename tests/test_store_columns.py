"""The store reads and writes its rows by column name: a later migration that adds a column,
or rebuilds a table with its columns in another order, cannot shift values into wrong fields."""

from __future__ import annotations

from pathlib import Path

from sync.store import Link, Store


def _rebuild(store: Store, table: str, columns: list[str], extra: str) -> None:
    """Rebuild ``table`` the way a SQLite migration changes a table: a new table with the
    columns in another order plus ``extra``, the rows copied over, then renamed."""
    info = store.db.execute(f"PRAGMA table_info({table})").fetchall()
    types = {
        row[1]: row[2] + (" PRIMARY KEY AUTOINCREMENT" if row[1] == "id" else "") for row in info
    }
    body = ", ".join(f"{name} {types[name]}" for name in columns)
    listed = ", ".join(columns)
    store.db.executescript(
        f"BEGIN; DROP INDEX IF EXISTS conflicts_open;"
        f"CREATE TABLE new_{table} ({body}, {extra});"
        f"INSERT INTO new_{table} ({listed}) SELECT {listed} FROM {table};"
        f"DROP TABLE {table}; ALTER TABLE new_{table} RENAME TO {table}; COMMIT;"
    )


def test_conflicts_read_right_from_a_table_whose_columns_moved(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        first = store.add_conflict("c:r", "person-a", "title", "alt", "hier", "dort")
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(conflicts)").fetchall()]
        _rebuild(store, "conflicts", list(reversed(columns)), "note TEXT")
        store.resolve_conflict(first, "hier")
        second = store.add_conflict("c:r", "person-b", "due", None, "2026-01-01", "2026-02-01")

        read = store.conflict(first)
        assert read is not None
        assert (read.id, read.rule, read.uid, read.field) == (first, "c:r", "person-a", "title")
        assert (read.base, read.canonical, read.remote) == ("alt", "hier", "dort")
        assert read.resolution == "hier" and read.resolved_at is not None
        assert [c.uid for c in store.conflicts()] == ["person-a", "person-b"]
        [pending] = [c for c in store.pending_conflicts("c:r") if c.id == second]
        assert (pending.base, pending.canonical, pending.remote) == (
            None,
            "2026-01-01",
            "2026-02-01",
        )
        opened = store.open_conflict("c:r", "person-b", "due")
        assert opened is not None and opened.id == second and opened.applied_at is None


def test_links_and_cursors_survive_a_column_added_by_a_later_migration(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        store.db.execute("ALTER TABLE links ADD COLUMN note TEXT")
        store.db.execute("ALTER TABLE cursors ADD COLUMN note TEXT")
        link = Link("c:r", "person-a", "deck", "17", "e1", {"title": "A"}, {"title": "A"}, "h")
        store.save_link(link)
        store.save_cursor("c:r", "deck", "cur-1", "opt")

        [(uid, read)] = store.links("c:r").items()
        assert uid == "person-a"
        assert (read.remote_id, read.remote_etag, read.base, read.seen) == (
            "17",
            "e1",
            {"title": "A"},
            {"title": "A"},
        )
        assert store.cursor("c:r") == ("cur-1", "opt")


def test_links_read_right_from_a_table_whose_columns_moved(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(links)").fetchall()]
        _rebuild(store, "links", list(reversed(columns)), "note TEXT")
        store.save_link(Link("c:r", "person-a", "deck", "17", "e1", {"t": 1}, {"t": 2}, "h"))
        read = store.links("c:r")["person-a"]
        assert (read.rule, read.target, read.remote_id, read.remote_etag) == (
            "c:r",
            "deck",
            "17",
            "e1",
        )
        assert (read.base, read.seen, read.content_hash) == ({"t": 1}, {"t": 2}, "h")
