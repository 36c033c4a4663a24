"""The store migration that moves a person's roles into their cohorts (issue 10): a store
written before keeps every role, now per cohort, and opens through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sync.model import Person, Role
from sync.store import _MIGRATIONS, SCHEMA_VERSION, Store
from tests.conftest import run_connector


def legacy_person(uid: str, roles: list[str], cohorts: list[str]) -> dict[str, object]:
    """A person as schema 1 stored it: roles and cohorts side by side."""
    return {
        "uid": uid,
        "updated_at": "2025-10-01T08:00:00Z",
        "given_name": "Anna",
        "family_name": uid.title(),
        "email": f"{uid}@greven.example",
        "organisation": None,
        "roles": roles,
        "cohorts": cohorts,
        "position": "",
        "regional_group": "Nord",
        "council_seat": None,
        "consent_lists": True,
        "consent_profile": False,
        "opt_outs": ["mentees-10@mentoring.example.org"],
        "deck_user": None,
    }


def schema_1_store(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN; {_MIGRATIONS[1]} PRAGMA user_version = 1; COMMIT;")
    people = [
        legacy_person("mentor", ["mentor", "council"], ["mim-10", "mim-11"]),
        legacy_person("applicant", [], ["mim-10"]),
        legacy_person("outsider", [], []),
    ]
    for person in people:
        db.execute(
            "INSERT INTO entities(uid, kind, cohorts, data, updated_at) VALUES (?, ?, ?, ?, ?)",
            (person["uid"], "person", json.dumps(person["cohorts"]), json.dumps(person),
             person["updated_at"]),
        )  # fmt: skip
    db.execute(
        "INSERT INTO entities(uid, kind, cohorts, data, updated_at) VALUES (?, ?, ?, ?, ?)",
        ("t-1", "task", '["mim-10"]', json.dumps({"uid": "t-1", "cohort": "mim-10",
         "title": "Raum buchen", "updated_at": "2025-10-01T08:00:00Z"}), "2025-10-01"),
    )  # fmt: skip
    db.close()


def test_a_schema_1_store_keeps_every_role_now_per_cohort(tmp_path: Path) -> None:
    path = tmp_path / "cohort.db"
    schema_1_store(path)

    status = run_connector("--store", str(path), "status", "--json")

    assert status.returncode == 0, status.stderr
    counts = {c["cohort"]: c["counts"] for c in json.loads(status.stdout)["cohorts"]}
    assert counts == {
        None: {"person": 1},
        "mim-10": {"person": 2, "task": 1},
        "mim-11": {"person": 1},
    }
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        mentor, applicant, outsider = (store.get(u) for u in ("mentor", "applicant", "outsider"))
        assert isinstance(mentor, Person) and isinstance(applicant, Person)
        assert isinstance(outsider, Person)
        both = {Role.MENTOR, Role.COUNCIL}
        assert mentor.memberships == {"mim-10": both, "mim-11": both}
        assert applicant.memberships == {"mim-10": set()} and outsider.memberships == {}
        assert mentor.opt_outs == {"mentees-10@mentoring.example.org"}
        assert mentor.regional_group == "Nord" and mentor.consent_lists is True
        assert store.get("t-1") is not None
