"""The SQLite store: WAL, migration, refusing newer schemas, transactions per item."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.errors import StoreError
from sync.model import Organisation, OrganisationKind, Person
from sync.store import SCHEMA_VERSION, Store


def org(uid: str, short: str) -> Organisation:
    return Organisation(
        uid=uid, name=f"Stadt {short}", short_name=short, org_kind=OrganisationKind.STADT
    )


def test_store_runs_in_wal_mode(store: Store) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_empty_file_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
    assert {"entities", "links", "cursors", "journal", "conflicts", "passes"} <= tables


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    greven = org("org-greven", "Greven")
    with Store.open(tmp_path / "s.db") as store:
        store.put(greven)
    with Store.open(tmp_path / "s.db") as store:
        assert store.get("org-greven") == greven
        assert store.schema_version() == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer cohort-connector"):
        Store.open(path)


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("Beiratssitzung am Donnerstag\n" * 100)
    with pytest.raises(StoreError):
        Store.open(path)


def test_a_missing_store_is_not_created_when_told_not_to(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here"):
        Store.open(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_a_failed_item_rolls_back_alone(store: Store) -> None:
    store.put(org("org-greven", "Greven"))
    with pytest.raises(RuntimeError), store.transaction():
        store.put(org("org-rheine", "Rheine"))
        store.journal_begin("r", "org-rheine", "create", None, {"title": "Rheine"})
        raise RuntimeError("target refused the card")
    assert store.get("org-greven") is not None
    assert store.get("org-rheine") is None
    assert store.journal() == []


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            store.put(org("org-greven", "Greven"))
        raise RuntimeError("later failure")
    assert store.get("org-greven") is None


def test_tombstones_hide_entities_and_keep_the_uid(store: Store) -> None:
    store.put(org("org-greven", "Greven"))
    store.tombstone("org-greven")
    assert store.get("org-greven") is None
    assert store.is_deleted("org-greven")
    assert store.get("org-greven", include_deleted=True) is not None
    assert store.entities("organisation") == []


def test_counts_per_cohort_and_kind(store: Store) -> None:
    store.put(org("org-greven", "Greven"))
    store.put(
        Person(
            uid="p-1",
            given_name="Anna",
            family_name="Beispiel",
            email="a@greven.example",
            cohorts={"mim-10", "nfk-1"},
        )
    )
    assert store.counts() == [
        ("", "organisation", 1),
        ("mim-10", "person", 1),
        ("nfk-1", "person", 1),
    ]


def test_last_pass_per_target(store: Store) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    store.record_pass("deck", started, "ok", {"created": 1})
    store.record_pass("deck", started, "failed", {})
    store.record_pass("lists", started, "ok", {})
    assert [(p["target"], p["outcome"]) for p in store.last_passes()] == [
        ("deck", "failed"),
        ("lists", "ok"),
    ]
