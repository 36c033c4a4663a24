"""What a person reads: local times, records named as people name them, a mapping at 80
columns, one message for an import out of order, extra columns left out on request, one
record looked at, and help without Python types."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from connector.errors import ConfigError
from sync.display import local_time, set_zone, shown_value
from tests.conftest import run_connector

SHIPPED = "mappings/muensterland-mentoring.toml"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "muensterland-10"


def test_times_are_shown_in_local_time() -> None:
    assert local_time("2026-10-30T23:00:00Z") == "2026-10-31 00:00"
    assert local_time("2026-11-21T06:09:02+00:00") == "2026-11-21 07:09"
    assert local_time(datetime(2026, 7, 1, 10, 0)) == "2026-07-01 12:00"  # naive: UTC
    assert shown_value(date(2026, 10, 15)) == "2026-10-15"
    assert shown_value(["2026-10-30T23:00:00Z", "x"]) == "[2026-10-31 00:00, 'x']"
    assert shown_value("Vorgestellt") == "'Vorgestellt'"
    set_zone("America/New_York")
    try:
        assert local_time("2026-10-30T23:00:00Z") == "2026-10-30 19:00"
    finally:
        set_zone("Europe/Berlin")
    with pytest.raises(ConfigError, match="not a known time zone"):
        set_zone("Mars/Olympus")


def test_mappings_show_reads_at_80_columns() -> None:
    done = run_connector("mappings", "show", SHIPPED, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[2] == "bewerbungen: application (cohort=mim-10)"
    assert "  → nextcloud (deck): Mentoring 10 – Beirat; visible to Beirat" in lines
    assert any(line.split() == ["status", "(5", "values)", "↔", "stack", "ask"] for line in lines)
    assert sum(1 for line in lines if line and not line.startswith(" ")) == 1 + 12  # title, rules
    wide = run_connector("mappings", "show", SHIPPED)
    assert "┃ rule" in wide.stdout  # piped without COLUMNS: the full table


def _import(store: Path, kind: str, file: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_connector("--store", str(store), "import", kind, str(file), *extra)


def test_applications_before_cohorts_say_once_what_to_import_first(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    for kind in ("organisations", "programmes", "people"):
        assert _import(store, kind, EXAMPLE / f"{kind}.csv").returncode == 0
    done = _import(store, "applications", EXAMPLE / "applications.csv")
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert "the store has no cohorts yet" in lines[0] and "column 'cohort'" in lines[0]
    assert lines[1].startswith("hint: import the cohorts first: connector import cohorts FILE")


def test_an_extra_column_can_be_left_out_by_name(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    assert _import(store, "organisations", EXAMPLE / "organisations.csv").returncode == 0
    extra = tmp_path / "people.csv"
    extra.write_text(
        "Vorname;Nachname;E-Mail;Kommune;Telefon;Fax\n"
        "Anna;Kampmann;anna@muenster.example;Münster;0251 1;0251 2\n",
        encoding="utf-8",
    )
    refused = _import(store, "people", extra)
    assert refused.returncode == 3
    assert "Telefon: unknown column" in refused.stderr and "Fax: unknown column" in refused.stderr
    assert "--ignore-column Telefon --ignore-column Fax" in refused.stderr.splitlines()[-1]
    only_one = _import(store, "people", extra, "--ignore-column", "Telefon")
    assert only_one.returncode == 3 and "Fax: unknown column" in only_one.stderr
    assert "Telefon" not in only_one.stderr.split("hint:")[0]
    done = _import(store, "people", extra, "--ignore-column", "telefon", "--ignore-column", "Fax")
    assert done.returncode == 0, done.stderr
    assert "  left out: column Telefon, Fax" in done.stdout
    assert "person: 1 created" in done.stdout
    wrong = _import(store, "people", extra, "--ignore-column", "Handy")
    assert wrong.returncode == 3
    assert "Handy: --ignore-column: the file has no such column" in wrong.stderr


def test_record_by_email_and_uid(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    for kind in ("organisations", "programmes", "people", "cohorts", "applications"):
        assert _import(store, kind, EXAMPLE / f"{kind}.csv").returncode == 0
    shown = run_connector("--store", str(store), "record", "TILL.goevert@greven.example")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Till Gövert (Greven)  (person person-")
    assert "Linked to: nothing yet" in shown.stdout and "Last sync: never" in shown.stdout
    assert "organisation:" in shown.stdout and "Stadt Greven [" in shown.stdout
    data = json.loads(
        run_connector("--store", str(store), "status", "--json").stdout
    )  # the store is readable
    assert data["open_conflicts"] == 0
    apps = run_connector(
        "--store", str(store), "record", "till.goevert@greven.example", "--json"
    ).stdout
    person = json.loads(apps)
    assert person["kind"] == "person" and person["links"] == [] and person["last_sync"] is None
    missing = run_connector("--store", str(store), "record", "niemand@example.org")
    assert missing.returncode == 3
    assert "no record with uid or e-mail 'niemand@example.org'" in missing.stderr


def test_help_shows_no_python_types() -> None:
    for command in (["sync"], ["import"], ["plan"], ["servers", "start"], ["record"]):
        done = run_connector(*command, "--help", env={"COLUMNS": "100"})
        assert done.returncode == 0
        for python_type in ("<bool>", "<str>", "<int>", "list[str]", "<path>"):
            assert python_type not in done.stdout, (command, python_type)
