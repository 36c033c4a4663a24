"""`connector forget` on the real Nextcloud 29 + Deck 1.13, proven on its database.

Deck only soft-deletes: a deleted card stays in ``oc_deck_cards``. The bundled example
cohort is synced with the shipped mapping's Deck rules onto a Nextcloud of this module's
own (its database is searched whole, so no other test's boards may be in it). Then a mentee
(her application card and her tandem card) and a council member (assigned to a task) are
forgotten through the CLI, and the SQLite database is read table by table: neither
person's name nor address is left in any table, nor anything of them in Deck's tables (the
council member's Nextcloud account stays in Nextcloud's account tables). What does remain is
stated precisely: Deck's ``description_prev`` of the two overwritten cards keeps the
description the connector first wrote (no API call by the same user clears it), until
Nextcloud's own background job ``CardDescriptionActivity`` runs, which clears it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.testing.nextcloud_server import NextcloudInstance, nextcloud_server
from tests.conftest import prepared_council
from tests.factories import IMPORT_ORDER
from tests.test_example_sync import EXAMPLE, run
from tests.test_nextcloud_council import deck_only

pytestmark = pytest.mark.real_nextcloud

MENTEE = ("Mareike Böckenholt", "mareike.boeckenholt@buende.example")
#: A council member: tasks are assigned to her Nextcloud account.
COUNCIL = ("Pia Hessing", "pia.hessing@greven.example", "beirat-greven")
DESCRIPTION_JOB = r"OCA\Deck\Cron\CardDescriptionActivity"
#: Where Nextcloud keeps an account (user, group membership, profile, system address book,
#: home folder), which the connector does not own.
ACCOUNT_TABLES = {
    "oc_accounts",
    "oc_accounts_data",
    "oc_addressbookchanges",
    "oc_cards",
    "oc_cards_properties",
    "oc_filecache",
    "oc_group_user",
    "oc_preferences",
    "oc_users",
}


@pytest.fixture(scope="module")
def own_nextcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NextcloudInstance]:
    """A fresh real Nextcloud for this module, with the conftest's rules: without the
    distribution the test is skipped (counted as NOT RUN), or fails with ``CI=true``; a
    distribution that is present but does not come up always fails."""
    council = prepared_council()
    with nextcloud_server(tmp_path_factory.mktemp("nextcloud-forget"), council) as instance:
        yield instance


@dataclass
class Database:
    """Nextcloud's SQLite database, read as it is on disk (read-only)."""

    path: Path

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def tables(self) -> list[str]:
        return [r[0] for r in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def findings(self, terms: tuple[str, ...], prefix: str = "") -> list[str]:
        """``table.column (row id)`` of every text cell that holds one of ``terms``."""
        found = []
        for table in self.tables():
            if not table.startswith(prefix):
                continue
            columns = [r[1] for r in self.rows(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for term in terms:
                    hits = self.rows(
                        f'SELECT rowid FROM "{table}" WHERE instr(lower(CAST("{column}" AS TEXT)),'
                        " lower(?)) > 0",
                        term,
                    )
                    found += [f"{table}.{column} (row {h[0]}): {term}" for h in hits]
        return sorted(set(found))


def _database(nc: NextcloudInstance) -> Database:
    path = nc.home / "data" / "nextcloud.db"
    assert path.is_file(), f"no SQLite database at {path}"
    return Database(path)


def test_forget_leaves_no_name_or_address_in_the_nextcloud_database(
    tmp_path: Path, own_nextcloud: NextcloudInstance
) -> None:
    nc = own_nextcloud
    db = _database(nc)
    work = tmp_path / "work"
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": nc.app_passwords["admin"],
        "CONNECTOR_CONFIG": str(work / "connector.toml"),
    }
    run(env, "init", str(work))
    for kind in IMPORT_ORDER:
        run(env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
    mapping = work / "mapping.toml"
    mapping.write_text(deck_only(mapping.read_text(encoding="utf-8"), nc.url), "utf-8")
    first = run(env, "sync")
    assert "ERROR" not in first and "problem" not in first, first

    # Before: her application card and her tandem card carry her name; the council member
    # is assigned to her task.
    mentee_cards = db.rows(
        "SELECT id, title, description FROM oc_deck_cards WHERE instr(title, ?) > 0", MENTEE[0]
    )
    assert len(mentee_cards) == 2, mentee_cards
    written = {card_id: description for card_id, _, description in mentee_cards}
    assert any("Datenschutzkoordination" in d for d in written.values())  # her position
    assert db.rows("SELECT card_id FROM oc_deck_assigned_users WHERE participant = ?", COUNCIL[2])
    assert db.findings(MENTEE, "oc_deck_") and db.findings(COUNCIL, "oc_deck_")

    done = json.loads(run(env, "forget", MENTEE[1], "--json"))
    [receipt] = done["receipts"]
    deck = receipt["targets"]["mim-10/nextcloud"]
    assert deck["cards overwritten"] == deck["cards deleted"] == 2, receipt
    done = json.loads(run(env, "forget", COUNCIL[1], "--json"))
    assert done["receipts"][0]["records"]["task (unassigned)"] == 1

    # After: neither name nor address is left anywhere in the database, and nothing of either
    # person in Deck's tables (cards, deleted ones too, assignments, shares, labels) or in
    # comments. The council member's Nextcloud account stays, in Nextcloud's account tables
    # only: the connector never deletes accounts.
    assert db.findings(MENTEE + COUNCIL[:2]) == []
    assert db.findings(MENTEE + COUNCIL, "oc_deck_") == []
    assert db.findings(MENTEE + COUNCIL, "oc_comments") == []
    account = {f.split(".")[0] for f in db.findings(COUNCIL[2:])}
    print("\nthe council member's account is kept in:", sorted(account))
    assert account and account <= ACCOUNT_TABLES, account
    assert not db.rows("SELECT * FROM oc_deck_assigned_users WHERE participant = ?", COUNCIL[2])
    # No query finds them; the file's free space may still hold old bytes (measured: it
    # does here), until SQLite reuses that space or the database is vacuumed.
    residue = MENTEE[0].encode() in db.path.read_bytes()
    print("her name still in the database file's free space:", residue)

    # What remains, precisely: the two cards, soft-deleted and overwritten, and in Deck's
    # `description_prev` the description the connector wrote before its overwrite (her
    # position and motivation, not her name). Deck sets it on the first edit by the card's
    # last editor and only its own background job clears it: no API call can.
    kept = db.rows(
        "SELECT id, title, description, description_prev, deleted_at FROM oc_deck_cards"
        f" WHERE id IN ({','.join('?' * len(written))})",
        *written,
    )
    print("the erased cards:", kept)
    for card_id, title, description, previous, deleted_at in kept:
        assert title == "Gelöscht" and deleted_at > 0
        assert description.strip().startswith("---") or not description  # the uid marker only
        assert previous == written[card_id]

    # Nextcloud's own job (cron) turns description changes into activities and clears the
    # field; this server has no activity app, so the text is then gone from the database.
    [(job_id,)] = db.rows("SELECT id FROM oc_jobs WHERE class = ?", DESCRIPTION_JOB)
    nc.occ("background-job:execute", "--force-execute", str(job_id))
    remaining = db.rows(
        "SELECT id, description_prev FROM oc_deck_cards"
        f" WHERE id IN ({','.join('?' * len(written))})",
        *written,
    )
    assert all(previous is None for _, previous in remaining), remaining
    rows = db.rows(
        f"SELECT * FROM oc_deck_cards WHERE id IN ({','.join('?' * len(written))})", *written
    )
    texts = " ".join(str(cell) for row in rows for cell in row)
    assert "Datenschutzkoordination" not in texts and "Gematcht" not in texts, rows
