"""Bad CSV input `connector import` used to miss: mixed encodings, mojibake, huge headers,
header-only files. Run through the real command, as an office's file would be."""

from __future__ import annotations

import re
from pathlib import Path

from sync.model import Person
from sync.store import Store
from tests.conftest import run_connector, write_csv

HEADER = "Vorname;Nachname;E-Mail;Kommune\r\n"


def _store(tmp_path: Path) -> str:
    store = tmp_path / "cohort.db"
    orgs = write_csv(
        tmp_path / "o.csv", ["Kurzname", "Name", "Art"], [("Greven", "Stadt Greven", "Stadt")]
    )
    done = run_connector("--store", str(store), "import", "organisations", str(orgs))
    assert done.returncode == 0, done.stderr
    return str(store)


def _names(store: str) -> set[str]:
    with Store.open(store) as opened:
        return {p.name for p in opened.entities("person") if isinstance(p, Person)}


def test_lines_in_utf8_and_windows_1252_are_each_decoded_right(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    path.write_bytes(
        HEADER.encode()
        + "Anna;Sühling;anna@greven.example;Greven\r\n".encode()  # an office's UTF-8 export
        + "Jörg;Süßmann;joerg@greven.example;Greven\r\n".encode("cp1252")  # pasted from Excel
        + b"Ben;Meier;ben@greven.example;Greven\r\n"
    )
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 0, done.stderr
    assert "utf-8 and cp1252" in done.stdout
    assert _names(store) == {"Anna Sühling", "Jörg Süßmann", "Ben Meier"}
    assert not any("Ã" in name for name in _names(store))


def test_a_line_mixing_both_encodings_is_rejected_by_line(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    path.write_bytes(
        HEADER.encode()
        + "Anna;Sühling;anna@greven.example;Greven\r\n".encode()
        + "Jörg;".encode("cp1252")
        + "Süßmann;joerg@greven.example;Greven\r\n".encode()
    )
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 3, done.stderr
    assert f"{path}:3: mixes UTF-8 and Windows-1252" in done.stderr
    assert "Traceback" not in done.stderr
    assert _names(store) == set()


def test_invalid_utf8_in_a_utf8_file_is_rejected_by_line(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    path.write_bytes(
        HEADER.encode()
        + "Anna;Sühling;anna@greven.example;Greven\r\n".encode()
        + b"Ben;M\xc3;ben@greven.example;Greven\r\n"  # a cut-off UTF-8 sequence
        + "Cem;Öztürk;cem@greven.example;Greven\r\n".encode()
    )
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 3, done.stderr
    assert f"{path}:3: invalid UTF-8" in done.stderr
    assert _names(store) == set()


def test_mojibake_is_never_stored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    # UTF-8 read as Windows-1252 once and saved again: the file itself holds "SÃ¼hling".
    path.write_bytes(
        HEADER.encode()
        + "Anna;Sühling;anna@greven.example;Greven\r\n".encode().decode("cp1252").encode()
    )
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 3, done.stderr
    assert f"{path}:2: 'SÃ¼hling' looks like garbled text" in done.stderr
    assert _names(store) == set()


def test_a_plain_windows_1252_file_still_imports(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    path.write_bytes((HEADER + "Jörg;Süßmann;joerg@greven.example;Greven\r\n").encode("cp1252"))
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 0, done.stderr
    assert "(cp1252, separator ';')" in done.stdout
    assert _names(store) == {"Jörg Süßmann"}


def test_twenty_thousand_columns_give_a_short_summary(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    header = ["Vorname", "Nachname", "E-Mail"] + [f"Spalte{i}" for i in range(20_000)]
    path.write_text(";".join(header) + "\n" + ";".join(["x"] * len(header)) + "\n")
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 3
    assert len(done.stderr) < 20_000, f"{len(done.stderr)} characters of errors"
    summary = r"\.\.\. and 19,9\d\d more problems not shown \(20,0\d\d in total\)"
    assert re.search(summary, done.stderr)
    assert f"{path}:1: Spalte0: unknown column; expected: uid" in done.stderr


def test_a_header_only_file_says_it_held_no_rows(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "\r\n;;;\r\n")
    done = run_connector("--store", store, "import", "people", str(path))
    assert done.returncode == 3
    assert f"error: {path}: only a header (line 1), no rows; nothing was imported" in done.stderr
