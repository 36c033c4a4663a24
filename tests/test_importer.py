"""`connector import`: all-or-nothing checks, office CSV dialects, German headers and values,
natural keys, idempotence, and the bundled examples."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import InputError
from sync.importer import import_file
from sync.importing import cells
from sync.model import BERLIN, Event, Person, Role
from sync.store import Store
from tests.conftest import example_files, run_connector, write_csv

ORGS = [("Greven", "Stadt Greven", "Stadt"), ("Rheine", "Stadt Rheine", "Stadt")]


def problems_of(store: Store, kind: str, path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        import_file(store, kind, path)
    return caught.value.problems


def people(store: Store) -> list[Person]:
    return [p for p in store.entities("person") if isinstance(p, Person)]


def seed(store: Store, tmp_path: Path) -> None:
    import_file(
        store, "organisations", write_csv(tmp_path / "o.csv", ["Kurzname", "Name", "Art"], ORGS)
    )


def person_rows(count: int) -> list[list[str]]:
    towns = ["Greven", "Rheine"]
    return [
        [f"Vorname{i}", f"Nachname{i}", f"p{i}@example.org", towns[i % 2], "nein"]
        for i in range(count)
    ]


# -- all or nothing -----------------------------------------------------------------------


def test_fifty_rows_with_three_bad_ones_write_nothing_and_name_each(tmp_path: Path) -> None:
    with Store.open(tmp_path / "cohort.db") as store:
        seed(store, tmp_path)
    rows = person_rows(50)
    rows[10][2] = "p10-at-example.org"  # line 12
    rows[25][3] = "Grevenn"  # line 27
    rows[39][4] = "vielleicht"  # line 41
    header = ["Vorname", "Nachname", "E-Mail", "Kommune", "Einwilligung Profil"]
    path = write_csv(tmp_path / "people.csv", header, rows, encoding="cp1252", delimiter=";")
    before = {p.name: p.read_bytes() for p in tmp_path.glob("cohort.db*")}

    result = run_connector("--store", str(tmp_path / "cohort.db"), "import", "people", str(path))

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert lines == [
        f"{path}:12: E-Mail: 'p10-at-example.org' is not an e-mail address",
        f"{path}:27: Kommune: 'Grevenn' is neither the short name nor the uid of an organisation",
        f"{path}:41: Einwilligung Profil: 'vielleicht' is not yes or no (write ja or nein)",
    ]
    assert "3 problems; nothing was imported" in result.stderr
    after = {p.name: p.read_bytes() for p in tmp_path.glob("cohort.db*")}
    assert after == before


def test_physical_lines_count_even_with_line_breaks_inside_cells(
    store: Store, tmp_path: Path
) -> None:
    seed(store, tmp_path)
    path = tmp_path / "people.csv"
    path.write_text(
        "Vorname,Nachname,E-Mail,Funktion\n"
        'Anna,Beispiel,anna@example.org,"Teamleitung\nBürgerservice"\n'
        "\n"
        "Bernd,Muster,kaputt,Sachgebietsleitung\n"
    )
    assert problems_of(store, "people", path) == [
        f"{path}:5: E-Mail: 'kaputt' is not an e-mail address"
    ]


# -- dialects -----------------------------------------------------------------------------


def test_excel_semicolon_windows_1252_with_umlauts(store: Store, tmp_path: Path) -> None:
    rows = [["Bünde", "Stadt Bünde", "Stadt"], ["Hörstel", "Stadt Hörstel", "Stadt"]]
    path = write_csv(
        tmp_path / "o.csv", ["Kurzname", "Name", "Art"], rows, encoding="cp1252", delimiter=";"
    )
    assert "ü".encode("cp1252") in path.read_bytes()
    report = import_file(store, "organisations", path)
    assert (report.encoding, report.delimiter) == ("cp1252", ";")
    names = sorted(o.model_dump()["short_name"] for o in store.entities("organisation"))
    assert names == ["Bünde", "Hörstel"]


def test_utf8_with_bom_and_english_headers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes("\ufeffshort_name,name,org_kind\nMünster,Stadt Münster,Stadt\n".encode())
    report = import_file(store, "organisations", path)
    assert (report.encoding, report.delimiter, report.rows) == ("utf-8", ",", 1)


def test_excel_unicode_text_is_utf16_with_tabs(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "o.txt"
    path.write_bytes("Kurzname\tName\tArt\r\nLaer\tGemeinde Laer\tGemeinde\r\n".encode("utf-16"))
    report = import_file(store, "organisations", path)
    assert (report.encoding, report.delimiter, report.rows) == ("utf-16", "\t", 1)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)), st.times())
def test_german_dates_and_times_read_back(day: date, moment: time) -> None:
    assert cells.parse_date(day.strftime("%d.%m.%Y")) == day
    assert cells.parse_date(day.isoformat()) == day
    written = f"{day:%d.%m.%Y} {moment:%H:%M}"
    assert cells.parse_datetime(written) == datetime.combine(
        day, moment.replace(second=0, microsecond=0)
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n \r\n", "the file is empty"),
        (b"Kurzname,Name\n\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
        (b"PK\x03\x04\x14\x00", "spreadsheet workbook"),
        (b"Kurzname\x00Name", "NUL bytes"),
    ],
)
def test_unreadable_files_are_input_errors(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        import_file(store, "organisations", path)


def test_a_missing_file_is_an_input_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_file(store, "people", tmp_path / "nope.csv")


def test_unknown_and_missing_columns_list_what_is_expected(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["Vorname", "Nachname", "Telefon"], [["A", "B", "1"]])
    problems = problems_of(store, "people", path)
    assert problems[0].startswith(f"{path}:1: Telefon: unknown column; expected: uid (ID, Kennung)")
    assert "email (E-Mail, Mail, E-Mail-Adresse)" in problems[0]
    assert (
        problems[1]
        == f"{path}:1: email (E-Mail, Mail, E-Mail-Adresse): this required column is missing"
    )


# -- German headers and values ------------------------------------------------------------


def test_german_headers_dates_times_and_words(store: Store, tmp_path: Path) -> None:
    import_file(
        store,
        "programmes",
        write_csv(tmp_path / "pr.csv", ["uid", "Name", "Art"], [["mim", "Mentoring", "Mentoring"]]),
    )
    cohort_header = ["uid", "Programm", "Nr", "Titel", "Beginn", "Ende", "Gebühr"]
    import_file(
        store,
        "cohorts",
        write_csv(
            tmp_path / "c.csv",
            cohort_header,
            [["mim-10", "mim", "10", "D 10", "01.03.2025", "31.12.2026", "500,00 €"]],
        ),
    )
    header = ["Durchgang", "Art", "Titel", "Beginn", "Ende", "Ort", "Zielgruppe", "Ganztägig"]
    rows = [
        [
            "mim-10",
            "Startworkshop",
            "Start",
            "22.01.2026 09:00",
            "22.01.2026 17:00",
            "stiwl",
            "Beirat | Mentees, Mentoren",
            "nein",
        ]
    ]
    import_file(store, "events", write_csv(tmp_path / "e.csv", header, rows))
    [event] = store.entities("event")
    assert isinstance(event, Event)
    assert event.start == datetime(2026, 1, 22, 9, 0, tzinfo=BERLIN)
    assert event.event_kind == "start_workshop"
    assert event.audience == {"council", "mentees", "mentors"}
    assert str(store.get("mim-10").model_dump()["fee_per_mentee"]) == "500.00"


def test_an_unknown_word_lists_the_german_ones(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", ["Kurzname", "Name", "Art"], [["X", "Dorf X", "Dorf"]])
    [problem] = problems_of(store, "organisations", path)
    assert problem.startswith(
        f"{path}:2: Art: 'Dorf' is not one of: Landkreis, Jobcenter AöR, Stadt"
    )


# -- natural keys and idempotence ---------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(store: Store, tmp_path: Path) -> None:
    seed(store, tmp_path)
    header = ["Vorname", "Nachname", "E-Mail", "Kommune", "Einwilligung Profil"]
    path = write_csv(tmp_path / "p.csv", header, person_rows(5))
    import_file(store, "people", path)
    before = {e.uid: e.model_dump_json() for e in store.entities()}
    report = import_file(store, "people", path)
    assert report.outcomes["person"].unchanged == 5
    assert report.outcomes["person"].created == report.outcomes["person"].updated == 0
    assert {e.uid: e.model_dump_json() for e in store.entities()} == before


def test_a_changed_row_updates_and_keeps_the_uid(store: Store, tmp_path: Path) -> None:
    seed(store, tmp_path)
    header = ["Vorname", "Nachname", "E-Mail", "Kommune", "Einwilligung Profil"]
    import_file(store, "people", write_csv(tmp_path / "p.csv", header, person_rows(3)))
    [old] = [p for p in people(store) if p.email == "p1@example.org"]
    rows = person_rows(3)
    rows[1][2] = "P1@Example.ORG"  # the same person: e-mail is matched ignoring case
    rows[1][3] = "Greven"
    report = import_file(store, "people", write_csv(tmp_path / "p.csv", header, rows))
    assert (report.outcomes["person"].updated, report.outcomes["person"].unchanged) == (1, 2)
    new = store.get(old.uid)
    assert isinstance(new, Person) and new.organisation != old.organisation
    assert new.updated_at >= old.updated_at


def test_new_uids_are_random_and_carry_no_personal_data(store: Store, tmp_path: Path) -> None:
    seed(store, tmp_path)
    header = ["Vorname", "Nachname", "E-Mail", "Kommune", "Einwilligung Profil"]
    import_file(store, "people", write_csv(tmp_path / "p.csv", header, person_rows(20)))
    uids = [p.uid for p in store.entities("person")]
    assert all(re.fullmatch(r"person-[0-9a-f]{10}", uid) for uid in uids)
    assert len(set(uids)) == 20


def test_the_same_person_twice_in_a_file_is_reported(store: Store, tmp_path: Path) -> None:
    seed(store, tmp_path)
    rows = person_rows(3)
    rows[2][2] = rows[0][2].upper()
    path = write_csv(
        tmp_path / "p.csv", ["Vorname", "Nachname", "E-Mail", "Kommune", "Verteiler"], rows
    )
    assert problems_of(store, "people", path) == [f"{path}:4: E-Mail: same e-mail as line 2"]


def test_selection_in_a_file_makes_mentees_and_a_later_decline_undoes_it(
    store: Store, tmp_path: Path, examples: Path
) -> None:
    folder = examples / "muensterland-10"
    for kind, path in example_files(folder)[:4]:
        import_file(store, kind, path)
    [email] = [
        line.split(",")[1] for line in (folder / "applications.csv").read_text().splitlines()[1:2]
    ]
    header = ["Durchgang", "Bewerber/in", "Status"]
    selected = write_csv(tmp_path / "a.csv", header, [["mim-10", email, "ausgewählt"]])
    report = import_file(store, "applications", selected)
    assert report.outcomes["person"].updated == 1
    [applicant] = [p for p in people(store) if p.email == email]
    assert Role.MENTEE in applicant.roles and "mim-10" in applicant.cohorts
    # The office's people list knows nothing of the selection: importing it keeps it.
    again = import_file(store, "people", folder / "people.csv")
    assert again.outcomes["person"].updated == 0
    declined = write_csv(tmp_path / "a.csv", header, [["mim-10", email, "abgelehnt"]])
    import_file(store, "applications", declined)
    [applicant] = [p for p in people(store) if p.email == email]
    assert Role.MENTEE not in applicant.roles and "mim-10" not in applicant.cohorts


def test_a_same_organisation_tandem_in_a_file_is_reported_on_its_line(
    store: Store, tmp_path: Path, examples: Path
) -> None:
    folder = examples / "muensterland-10"
    for kind, path in example_files(folder)[:5]:
        import_file(store, kind, path)
    good = (folder / "tandems.csv").read_text().splitlines()[1].split(",")[2:4]
    anna = next(p for p in people(store) if Role.MENTEE in p.roles and p.email not in good)
    colleague = next(
        p
        for p in people(store)
        if Role.MENTOR in p.roles and p.organisation != anna.organisation and p.email not in good
    )
    store.put(colleague.touched(organisation=anna.organisation))
    rows = [
        ["mim-10", *good, "01.12.2025"],
        ["mim-10", anna.email, colleague.email, "01.12.2025"],
    ]
    path = write_csv(tmp_path / "t.csv", ["Durchgang", "Mentee", "Mentor", "Gematcht am"], rows)
    [problem] = problems_of(store, "tandems", path)
    assert problem.startswith(f"{path}:3: Mentor: tandem tandem-")
    town = store.get(str(anna.organisation)).model_dump()["name"]
    assert f"mentee {anna.name} and mentor {colleague.name} both belong to {town};" in problem
    assert problem.endswith("cross-mentoring needs partners from different organisations")
    assert store.entities("tandem") == []


# -- the bundled examples -----------------------------------------------------------------


def test_every_example_file_imports_cleanly_and_again_changes_nothing(
    store: Store, examples: Path
) -> None:
    files = example_files(examples / "muensterland-10") + example_files(
        examples / "nachwuchsfoerderkreis"
    )
    assert len(files) == 14
    for kind, path in files:
        import_file(store, kind, path)
    counts = {(c, k): n for c, k, n in store.counts()}
    # 17 + Hörstel, Lengerich and the Jobcenter: the shared ones are the same records.
    assert counts[("", "organisation")] == 20
    assert counts[("mim-10", "application")] == 40
    assert counts[("mim-10", "tandem")] == 18
    assert counts[("nfk-1", "person")] == 22
    for kind, path in files:
        report = import_file(store, kind, path)
        assert all(o.created == o.updated == 0 for o in report.outcomes.values()), path
