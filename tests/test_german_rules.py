"""The programme's rules speak German under a German locale: an import's broken rule, a
model check and a sync pass refusing to bring back an erased person."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.importer import import_file
from sync.store import Store
from tests.factories import IMPORT_ORDER
from tests.test_german import GERMAN, assert_german, german

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "muensterland-10"
MENTEE = "mareike.boeckenholt@buende.example"
MENTOR = "hanna.vorspohl@steinfurt.example"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regeln") / "cohort.db"
    with Store.open(path) as store:
        for kind in IMPORT_ORDER:
            import_file(store, kind, EXAMPLE / f"{kind}.csv")
    return path


def _import(example: Path, kind: str, text: str, tmp_path: Path) -> str:
    csv = tmp_path / f"{kind}.csv"
    csv.write_text(text, encoding="utf-8")
    done = german("--store", str(example), "import", kind, str(csv))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def test_a_tandem_of_swapped_partners_is_refused_in_german(example: Path, tmp_path: Path) -> None:
    out = _import(
        example,
        "tandems",
        f"Durchgang,Mentee,Mentor,Gematcht am\nmim-10,{MENTOR},{MENTEE},12.12.2025\n",
        tmp_path,
    )
    assert "Hanna Vorspohl ist nicht Mentee (Rollen: Mentor:in)" in out, out
    assert "Mareike Böckenholt ist nicht Mentor:in (Rollen: Mentee)" in out, out
    assert_german(out, "import tandems")


def test_a_second_tandem_of_a_mentee_is_refused_in_german(example: Path, tmp_path: Path) -> None:
    out = _import(
        example,
        "tandems",
        "uid,Durchgang,Mentee,Mentor,Gematcht am\n"
        f"mim-10-t77,mim-10,{MENTEE},volker.dirkmann@rheine.example,12.12.2025\n",
        tmp_path,
    )
    assert "Mareike Böckenholt hat in diesem Durchgang schon das Tandem mim-10-t01" in out, out
    assert_german(out, "import tandems")


def test_an_event_ending_before_it_starts_is_refused_in_german(
    example: Path, tmp_path: Path
) -> None:
    out = _import(
        example,
        "events",
        "Durchgang,Art,Titel,Beginn,Ende\n"
        "mim-10,Abstimmung,Test,12.03.2025 10:00,11.03.2025 12:00\n",
        tmp_path,
    )
    assert "Ende: der Termin endet, bevor er beginnt" in out, out
    assert_german(out, "import events")


def test_sync_does_not_bring_back_an_erased_person_and_says_so_in_german(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.memory import MemoryTarget
    from tests.test_erasure_suppression import sync_after_erasure

    for name, value in GERMAN.items():
        monkeypatch.setenv(name, value)
    try:
        with Store.open(tmp_path / "store.db") as store:
            result, _lists = sync_after_erasure(store, ["anna@x.example"])
    finally:
        MemoryTarget.reset()
    [problem] = result.problems
    assert "kann kein Eintrag vom Typ Person werden: ihre Adresse wurde am" in problem, problem
    assert "mit connector forget gelöscht (Beleg 1); nicht erneut angelegt" in problem, problem
    assert_german(problem, "sync")


def test_a_cohort_from_its_fahrplan_is_reported_in_german(example: Path) -> None:
    args = ("--store", str(example), "cohort", "new", "--programme", "mim", "--number", "12")
    done = german(*args, "--start", "2027-09-01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 Durchgang, 16 Termine, 19 Aufgaben; 36 angelegt" in done.stdout, done.stdout
    moved = german(*args, "--start", "2027-09-08", "--dry-run")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "  geändert Termin mim-12-start-workshop" in moved.stdout, moved.stdout
    assert_german(done.stdout + moved.stdout, "cohort new")


def test_json_keeps_keys_and_codes_in_english_and_messages_in_german(example: Path) -> None:
    # README: "--json keeps its keys and its codes in English; a message in it is in the
    # user's language".
    import json

    done = german("--store", str(example), "match", "candidates", MENTEE, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert {"cohort", "mentee", "mentee_flags", "candidates"} <= set(data)
    assert data["mentee_flags"] == ["Mareike Böckenholt hat schon das Tandem mim-10-t01"]
    args = ("cohort", "new", "--programme", "mim", "--number", "13", "--start", "2027-09-01")
    made = json.loads(german("--store", str(example), *args, "--dry-run", "--json").stdout)
    assert {o["action"] for o in made["outcomes"]} == {"created"}
    assert {o["kind"] for o in made["outcomes"]} == {"cohort", "event", "task"}


def test_a_second_sync_is_refused_in_german_while_the_lock_is_held(tmp_path: Path) -> None:
    from sync.daemon import store_lock

    assert german("init", str(tmp_path / "w")).returncode == 0
    config = {"CONNECTOR_CONFIG": str(tmp_path / "w" / "connector.toml")}
    with store_lock(tmp_path / "w" / "cohort.db"):
        refused = german("sync", env=config)
    out = refused.stdout + refused.stderr
    assert refused.returncode == 4, out
    assert "Ein anderer `connector sync` gleicht diesen Datenbestand gerade ab" in out, out
    assert_german(out, "sync while locked")


def test_init_writes_the_config_comments_in_german(tmp_path: Path) -> None:
    assert german("init", str(tmp_path / "w")).returncode == 0
    text = (tmp_path / "w" / "connector.toml").read_text(encoding="utf-8")
    assert "# Konfiguration von cohort-connector; Pfade gelten relativ zu dieser Datei." in text
    assert "interval = 300  # Sekunden zwischen zwei Abgleichen" in text
    config = {"CONNECTOR_CONFIG": str(tmp_path / "w" / "connector.toml")}
    status = german("status", env=config)
    assert status.returncode == 0, status.stdout + status.stderr
