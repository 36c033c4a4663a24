"""An erased person stays erased: re-importing an old CSV does not bring them back.

The erasure keeps a keyed hash of each address the person had (no name, no address in
clear); ``connector import`` leaves out a row of such an address with a notice naming file
and line, and ``--readmit EMAIL`` imports someone who really applied again. The erasure here
is the real one (``sync.erasure.erase``: plan, store step, receipt) without platforms, and
every import goes through the installed ``connector`` command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.erasure import erase
from sync.erasure_plan import begin
from sync.importer import import_file
from sync.model import Person
from sync.store import Store
from tests.conftest import run_connector
from tests.factories import IMPORT_ORDER
from tests.test_example_sync import EXAMPLE

NAME = "Mareike Böckenholt"
EMAIL = "mareike.boeckenholt@buende.example"
#: Her line in the example's people.csv (the header is line 1).
LINE = next(
    n
    for n, text in enumerate(
        (EXAMPLE / "people.csv").read_text(encoding="cp1252").splitlines(), start=1
    )
    if EMAIL in text
)


def _erased(store_path: Path) -> None:
    """The example imported into ``store_path`` and Mareike erased from it."""
    with Store.open(store_path) as store:
        for kind in IMPORT_ORDER:
            import_file(store, kind, EXAMPLE / f"{kind}.csv")
        plan = begin(store, EMAIL)
        erase(store, plan, [], lambda: [])


def _people(store_path: Path) -> list[Person]:
    with Store.open(store_path) as store:
        return [p for p in store.entities("person") if isinstance(p, Person)]


def _connector(store_path: Path, *args: str) -> tuple[int, str, str]:
    done = run_connector("--store", str(store_path), *args, env={"LANGUAGE": "en"})
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def erased(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.db"
    _erased(path)
    return path


def test_reimporting_an_old_file_does_not_recreate_an_erased_person(erased: Path) -> None:
    before = len(_people(erased))
    code, out, err = _connector(erased, "import", "people", str(EXAMPLE / "people.csv"))
    assert code == 0, err
    assert not any(p.email.casefold() == EMAIL for p in _people(erased))
    assert len(_people(erased)) == before  # every other row is there, unchanged
    assert f"people.csv:{LINE}:" in out and "erased on" in out, out
