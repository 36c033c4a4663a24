"""Re-imports keep people's decisions (issue 10, finding 3), through `connector import` as a
coordinator runs it: an empty cell keeps the stored value and a cell of exactly ``-`` clears
it; consent is never assumed; opt-outs are lifted only by `connector person opt-in`; roles
belong to a cohort; and a people file that breaks a tandem is refused like any bad row.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.filters import matches
from mappings.load import load_mapping
from sync.catalog import Catalog
from sync.errors import StoreError
from sync.model import Person, Role
from sync.optin import ATTEMPTS, opt_in
from sync.store import Store
from tests.conftest import ROOT, run_connector, write_csv

ORGS = [("Greven", "Stadt Greven", "Stadt"), ("Rheine", "Stadt Rheine", "Stadt")]
PEOPLE = [
    "Vorname",
    "Nachname",
    "E-Mail",
    "Kommune",
    "Rollen",
    "Durchgang",
    "Regionalgruppe",
    "Einwilligung Verteiler",
    "Abgemeldet",
]
ANNA = "anna.beispiel@greven.example"
CARLA = "carla.probe@rheine.example"
LIST = "mentees-10@mentoring.example.org"


class Office:
    """A store folder and the files an office sends, imported with the real command."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.db = tmp_path / "cohort.db"
        self.count = 0
        self.imported("organisations", ["Kurzname", "Name", "Art"], ORGS)

    def run(self, *args: str) -> tuple[int, str, str]:
        result = run_connector("--store", str(self.db), *args)
        assert "Traceback" not in result.stderr
        return result.returncode, result.stdout, result.stderr

    def write(self, header: list[str], rows: list[list[str]]) -> Path:
        self.count += 1
        return write_csv(self.tmp_path / f"file{self.count}.csv", header, rows)

    def imported(self, kind: str, header: list[str], rows: list[list[str]]) -> str:
        code, out, err = self.run("import", kind, str(self.write(header, rows)))
        assert code == 0, err
        return out

    def person(self, email: str) -> Person:
        with Store.open(self.db) as store:
            [found] = [p for p in store.entities("person") if p.model_dump()["email"] == email]
        assert isinstance(found, Person)
        return found

    def snapshot(self) -> dict[str, str]:
        with Store.open(self.db) as store:
            return {e.uid: e.model_dump_json() for e in store.entities()}


def anna(**cells: str) -> list[str]:
    row = dict.fromkeys(PEOPLE, "")
    row |= {"Vorname": "Anna", "Nachname": "Beispiel", "E-Mail": ANNA, "Kommune": "Greven"}
    row |= {"Rollen": "Mentee", "Durchgang": "mim-10", "Regionalgruppe": "Nord"}
    row |= {"Einwilligung Verteiler": "ja", "Abgemeldet": LIST}
    for key, value in cells.items():
        row[{"E_Mail": "E-Mail"}.get(key, key.replace("_", " "))] = value
    return [row[h] for h in PEOPLE]


# -- empty cells keep, "-" clears ---------------------------------------------------------


def test_an_empty_abgemeldet_cell_keeps_the_opt_out(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    assert office.person(ANNA).opt_outs == {LIST}

    out = office.imported("people", PEOPLE, [anna(Abgemeldet="")])

    assert "person: 0 created, 0 updated, 1 unchanged" in out
    assert office.person(ANNA).opt_outs == {LIST}


def test_an_import_never_lifts_an_opt_out(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    other = "mentoren-10@mentoring.example.org"
    office.imported("people", PEOPLE, [anna(Abgemeldet=other)])
    assert office.person(ANNA).opt_outs == {LIST, other}  # a new one adds, none goes
    before = office.snapshot()

    path = office.write(PEOPLE, [anna(Abgemeldet="-")])
    code, _, err = office.run("import", "people", str(path))

    assert code == 3
    assert f"{path}:2: Abgemeldet: an import never lifts an opt-out" in err
    assert "connector person opt-in" in err
    assert office.snapshot() == before


def test_an_empty_consent_cell_keeps_a_stored_no(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna(Einwilligung_Verteiler="nein")])
    assert office.person(ANNA).consent_lists is False

    out = office.imported("people", PEOPLE, [anna(Einwilligung_Verteiler="")])

    assert "1 unchanged" in out
    assert office.person(ANNA).consent_lists is False


def test_a_new_person_without_consent_has_not_consented(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna(Einwilligung_Verteiler="")])
    assert office.person(ANNA).consent_lists is False
    office.imported("people", ["E-Mail", "Vorname", "Nachname"], [[CARLA, "Carla", "Probe"]])
    assert office.person(CARLA).consent_lists is False


def test_empty_cells_keep_and_a_dash_clears(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    first = office.person(ANNA)

    kept = office.imported("people", PEOPLE, [anna(Kommune="", Regionalgruppe="")])
    assert "1 unchanged" in kept
    assert office.person(ANNA).model_dump() == first.model_dump()

    cleared = office.imported("people", PEOPLE, [anna(Kommune="-", Regionalgruppe="-")])
    assert "1 updated" in cleared
    now = office.person(ANNA)
    assert now.organisation is None and now.regional_group is None
    assert now.consent_lists is True and now.opt_outs == {LIST}


def test_an_event_row_matches_by_title_and_start_even_with_empty_required_cells(
    tmp_path: Path,
) -> None:
    office = tandem_office(tmp_path)
    header = ["Durchgang", "Art", "Titel", "Beginn", "Ende", "Ort", "Zielgruppe"]
    row = ["mim-10", "Startworkshop", "Startworkshop", "22.01.2026 09:00", "22.01.2026 16:00"]
    office.imported("events", header, [[*row, "Kreishaus Steinfurt", "Mentees, Mentoren"]])

    kept = office.imported("events", header, [["mim-10", "", "Startworkshop", row[3], "", "", ""]])
    assert "event: 0 created, 0 updated, 1 unchanged" in kept

    cleared = office.imported(
        "events", header, [["mim-10", "", "startworkshop", row[3], "", "-", ""]]
    )
    assert "event: 0 created, 1 updated, 0 unchanged" in cleared
    with Store.open(office.db) as store:
        [event] = store.entities("event")
    assert (
        event.model_dump()["location"] == ""
        and event.model_dump()["event_kind"] == "start_workshop"
    )

    path = office.write(header, [["mim-10", "-", "Startworkshop", row[3], "", "", ""]])
    code, _, err = office.run("import", "events", str(path))
    assert code == 3
    assert f"{path}:2: Art: a value is required; '-' cannot clear it" in err


def test_a_file_needs_only_the_columns_that_find_its_records(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna(Abgemeldet="")])
    first = office.person(ANNA)
    other = "mentoren-10@mentoring.example.org"

    out = office.imported("people", ["E-Mail", "Abgemeldet"], [[ANNA, other]])

    assert "person: 0 created, 1 updated, 0 unchanged" in out
    now = office.person(ANNA)
    assert now.opt_outs == {other}
    assert now.model_dump(exclude={"opt_outs", "updated_at"}) == first.model_dump(
        exclude={"opt_outs", "updated_at"}
    )
    path = office.write(["E-Mail", "Abgemeldet"], [[CARLA, other]])
    code, _, err = office.run("import", "people", str(path))
    assert code == 3
    assert f"{path}:2: given_name (Vorname): a value is required" in err


# -- roles belong to a cohort -------------------------------------------------------------


def test_a_row_of_a_later_cohort_leaves_the_earlier_one_alone(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])

    office.imported("people", PEOPLE, [anna(Rollen="Mentor", Durchgang="mim-11")])

    now = office.person(ANNA)
    assert now.roles_in({"mim-10"}) == {Role.MENTEE}
    assert now.roles_in({"mim-11"}) == {Role.MENTOR}
    assert now.cohorts == {"mim-10", "mim-11"}

    path = office.write(PEOPLE, [anna(Rollen="Beirat", Durchgang="")])
    code, _, err = office.run("import", "people", str(path))
    assert code == 3
    assert f"{path}:2: Rollen: roles belong to a cohort; name it (Durchgang) in this row" in err
    assert office.person(ANNA).model_dump() == now.model_dump()


# -- tandem checks ------------------------------------------------------------------------


def tandem_office(tmp_path: Path) -> Office:
    """Anna (Greven) mentee and Carla (Rheine) mentor of one tandem in cohort 10."""
    office = Office(tmp_path)
    office.imported("programmes", ["uid", "Name", "Art"], [["mim", "Mentoring", "Mentoring"]])
    carla = anna(Vorname="Carla", Nachname="Probe", E_Mail=CARLA, Kommune="Rheine", Rollen="Mentor")
    office.imported("people", PEOPLE, [anna(), carla])
    header = ["uid", "Programm", "Nummer", "Titel", "Beginn", "Ende", "Organisationen"]
    cohort = ["mim-10", "mim", "10", "Durchgang 10", "01.03.2025", "31.12.2026", "Greven,Rheine"]
    office.imported("cohorts", header, [cohort])
    office.imported(
        "tandems",
        ["Durchgang", "Mentee", "Mentor", "Gematcht am"],
        [["mim-10", ANNA, CARLA, "01.12.2025"]],
    )
    return office


def test_a_people_file_moving_a_mentor_into_her_mentees_organisation_is_refused(
    tmp_path: Path,
) -> None:
    office = tandem_office(tmp_path)
    before = office.snapshot()
    path = office.write(
        ["E-Mail", "Vorname", "Nachname", "Kommune"], [[CARLA, "Carla", "Probe", "Greven"]]
    )

    code, out, err = office.run("import", "people", str(path))

    assert code == 3, out
    assert f"{path}:2: Kommune: tandem tandem-" in err
    assert "mentee Anna Beispiel and mentor Carla Probe both belong to Stadt Greven" in err
    assert "nothing was imported" in err
    assert office.snapshot() == before


def test_a_people_file_making_a_mentor_council_is_refused(tmp_path: Path) -> None:
    office = tandem_office(tmp_path)
    before = office.snapshot()
    header = ["E-Mail", "Vorname", "Nachname", "Rollen", "Durchgang"]
    path = office.write(header, [[CARLA, "Carla", "Probe", "Beirat", "mim-10"]])

    code, _, err = office.run("import", "people", str(path))

    assert code == 3
    assert f"{path}:2: Rollen: tandem tandem-" in err
    assert "Carla Probe is not a mentor" in err
    assert office.snapshot() == before


def test_a_decision_that_leaves_a_tandem_without_its_mentee_is_refused(tmp_path: Path) -> None:
    office = tandem_office(tmp_path)
    before = office.snapshot()
    header = ["Durchgang", "Bewerber/in", "Status"]
    path = office.write(header, [["mim-10", ANNA, "abgelehnt"]])

    code, _, err = office.run("import", "applications", str(path))

    assert code == 3
    assert f"{path}:2: Status: tandem tandem-" in err
    assert "Anna Beispiel is not a mentee (roles: none) (is the application selected?)" in err
    assert office.snapshot() == before


# -- opt-in -------------------------------------------------------------------------------


def test_only_person_opt_in_lifts_an_opt_out(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    uid = office.person(ANNA).uid

    code, out, err = office.run("person", "opt-in", ANNA.upper(), LIST)
    assert code == 0, err
    assert out.strip() == (
        f"Anna Beispiel ({ANNA}, {uid}) may be subscribed to {LIST} again; "
        "the next sync adds them where the mapping's filter covers them."
    )
    assert office.person(ANNA).opt_outs == set()

    code, _, err = office.run("person", "opt-in", uid, LIST)
    assert code == 3
    assert f"Anna Beispiel has not opted out of {LIST}" in err

    code, _, err = office.run("person", "opt-in", "nobody@example.org", LIST)
    assert code == 3
    assert "there is no person with the e-mail 'nobody@example.org'" in err


def _writer_between_read_and_write(store: Store, other: Store, uid: str, times: int) -> None:
    """Make ``other`` store the person right after each of the first ``times`` reads."""
    read = store.get
    writes: list[str] = []

    def read_then_someone_writes(wanted: str, **kwargs: bool) -> object:
        found = read(wanted, **kwargs)
        if wanted == uid and found is not None and len(writes) < times:
            writes.append(wanted)
            current = other.get(uid)
            assert isinstance(current, Person)
            other.put(current.touched(position=f"Sachbearbeiterin {len(writes)}"))
        return found

    store.get = read_then_someone_writes  # type: ignore[method-assign]


def test_an_opt_in_keeps_what_another_writer_stored_meanwhile(tmp_path: Path) -> None:
    """Two writers: a pass (or an import) stores the person between the opt-in's read and
    its write. The opt-in must not write its stale copy over that change."""
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    uid = office.person(ANNA).uid
    with Store.open(office.db) as store, Store.open(office.db) as other:
        _writer_between_read_and_write(store, other, uid, times=1)
        opt_in(store, ANNA, LIST)
    person = office.person(ANNA)
    assert person.opt_outs == set()
    assert person.position == "Sachbearbeiterin 1"


def test_an_opt_in_outrun_every_time_changes_nothing_and_says_so(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    uid = office.person(ANNA).uid
    with Store.open(office.db) as store, Store.open(office.db) as other:
        _writer_between_read_and_write(store, other, uid, times=ATTEMPTS)
        with pytest.raises(StoreError, match="changed by another writer 5 times"):
            opt_in(store, ANNA, LIST)
    person = office.person(ANNA)
    assert person.opt_outs == {LIST}
    assert person.position == f"Sachbearbeiterin {ATTEMPTS}"


def test_the_shipped_lists_take_roles_of_their_own_cohort_only(tmp_path: Path) -> None:
    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna(Rollen="Mentor", Durchgang="mim-10")])
    office.imported("people", PEOPLE, [anna(Rollen="Mentee", Durchgang="mim-11")])
    mapping = load_mapping(ROOT / "mappings" / "muensterland-mentoring.toml")
    rules = {rule.name: rule for rule in mapping.rules}
    person = office.person(ANNA)
    with Store.open(office.db) as store:
        catalog = Catalog.load(store)
        covered = {
            name for name, rule in rules.items() if matches(rule, person, catalog, mapping.cohort)
        }
    # Cohort 10's lists: a mentor there; being a mentee of cohort 11 does not count.
    assert covered == {"liste-mentoren", "liste-alle"}


def test_mappings_check_still_knows_the_roles_a_filter_may_name(tmp_path: Path) -> None:
    shipped = (ROOT / "mappings" / "muensterland-mentoring.toml").read_text(encoding="utf-8")
    wrong = 'filter = { roles = ["mentie"], consent_lists = true }'
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        shipped.replace('filter = { roles = ["mentee"], consent_lists = true }', wrong, 1)
    )

    result = run_connector("mappings", "check", str(mapping))

    assert result.returncode == 3
    assert (
        "filter.roles: 'mentie' is not a value of roles; expected 'mentee', 'mentor'"
        in result.stderr
    )
