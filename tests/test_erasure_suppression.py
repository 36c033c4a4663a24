"""An erased person stays erased: re-importing an old CSV does not bring them back.

The erasure keeps a keyed hash of each address the person had (no name, no address in
clear); ``connector import`` leaves out a row of such an address with a notice naming file
and line, and ``--readmit EMAIL`` imports someone who really applied again. The erasure here
is the real one (``sync.erasure.erase``: plan, store step, receipt) without platforms, and
every import goes through the installed ``connector`` command.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from sync.erasure import erase
from sync.erasure_plan import begin
from sync.importer import import_file
from sync.model import Person, Tandem, Task
from sync.store import SCHEMA_VERSION, Link, Store
from sync.suppression import Erased, ErasedAddresses
from tests.conftest import run_connector
from tests.factories import IMPORT_ORDER
from tests.test_example_sync import EXAMPLE
from tests.test_operations import UNDO_ERASED_ADDRESSES

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


def _store_findings(store_path: Path, terms: list[str]) -> list[str]:
    """Every store file (with its WAL) holding a term, as the erasure tests search them."""
    found = []
    for path in store_path.parent.glob(store_path.name + "*"):
        data = path.read_bytes().lower()
        found += [f"{path.name}: {t}" for t in terms if t.encode("utf-8").lower() in data]
    return found


def _erased_rows(store_path: Path) -> list[tuple[str, str, int | None]]:
    with Store.open(store_path) as store:
        rows = store.db.execute("SELECT digest, erased_on, receipt FROM erased_addresses")
        return [(r[0], r[1], r[2]) for r in rows.fetchall()]


def test_the_store_names_nobody_and_every_file_of_hers_is_left_out(erased: Path) -> None:
    terms = [NAME, EMAIL, "Böckenholt".encode("unicode_escape").decode()]
    assert _store_findings(erased, terms) == []
    [(digest, day, receipt)] = _erased_rows(erased)
    assert len(digest) == 64 and receipt == 1 and day
    outputs = {}
    for kind in IMPORT_ORDER:
        code, out, err = _connector(erased, "import", kind, str(EXAMPLE / f"{kind}.csv"))
        assert code == 0, err
        outputs[kind] = out
    # Her application, her tandem and its two meetings are left out, each named by line.
    assert "applications.csv:4: applicant:" in outputs["applications"]
    assert "this row is not imported" in outputs["applications"]
    assert "tandems.csv:2: Mentee:" in outputs["tandems"]
    assert outputs["events"].count("was erased with connector forget") == 2
    assert "receipt 1" in outputs["people"] and f"--readmit {EMAIL}" in outputs["people"]
    with Store.open(erased) as store:
        assert not any(
            getattr(e, "applicant", None) not in {None, *(p.uid for p in _live(store))}
            for e in store.entities("application")
        )
        assert all({t.mentee, t.mentor} <= {p.uid for p in _live(store)} for t in _tandems(store))
    # Still nobody named in the store after the refused imports.
    assert _store_findings(erased, terms) == []


def _live(store: Store) -> list[Person]:
    return [p for p in store.entities("person") if isinstance(p, Person)]


def _tandems(store: Store) -> list[Tandem]:
    return [t for t in store.entities("tandem") if isinstance(t, Tandem)]


def test_readmit_imports_her_again_and_forgets_the_erasure(erased: Path) -> None:
    people = str(EXAMPLE / "people.csv")
    code, out, err = _connector(erased, "import", "people", people, "--readmit", EMAIL.upper())
    assert code == 0, err
    assert f"readmitted (erased before, imported again): {EMAIL}" in out
    assert "person: 1 created" in out and "left out" not in out
    assert [p.name for p in _people(erased) if p.email == EMAIL] == [NAME]
    assert _erased_rows(erased) == []
    # Now known again, her application comes in too, and nothing is left out any more.
    code, out, err = _connector(erased, "import", "applications", str(EXAMPLE / "applications.csv"))
    assert code == 0 and "application: 1 created" in out and "left out" not in out, out + err
    code, out, _err = _connector(erased, "import", "people", people)
    assert code == 0 and "left out" not in out


def test_a_dry_run_readmits_nothing(erased: Path) -> None:
    people = str(EXAMPLE / "people.csv")
    code, out, _err = _connector(
        erased, "import", "people", people, "--readmit", EMAIL, "--dry-run"
    )
    assert code == 0 and "person: 1 created" in out and "nothing written" in out
    assert len(_erased_rows(erased)) == 1
    assert not any(p.email == EMAIL for p in _people(erased))


def test_readmit_of_an_address_no_row_has_is_an_error_and_writes_nothing(erased: Path) -> None:
    rows = _erased_rows(erased)
    code, out, err = _connector(
        erased, "import", "people", str(EXAMPLE / "people.csv"), "--readmit", "tippfehler@x.example"
    )
    assert code == 3 and out == ""
    assert "people.csv:1: --readmit: no new row of the file has tippfehler@x.example" in err
    assert _erased_rows(erased) == rows
    code, _out, err = _connector(
        erased, "import", "applications", str(EXAMPLE / "applications.csv"), "--readmit", EMAIL
    )
    assert code == 3 and "--readmit is for a people file" in err


def test_an_old_address_the_store_knew_is_kept_as_erased_too(tmp_path: Path) -> None:
    old, new = "m.b@alt.example", "m.b@neu.example"
    path = tmp_path / "cohort.db"
    with Store.open(path) as store:
        for kind in IMPORT_ORDER[:3]:
            import_file(store, kind, EXAMPLE / f"{kind}.csv")
        person = next(p for p in _live(store) if p.email == EMAIL)
        store.put(person.touched(email=new))
        # A list's last-seen copy still has an address she had before.
        store.save_link(Link("mim-10:liste", person.uid, "listen", old, None, {}, {"a": old}, "h"))
        erase(store, begin(store, new), [], lambda: [])
    assert len(_erased_rows(path)) == 2
    assert _store_findings(path, [old, new, NAME]) == []
    csv = tmp_path / "people.csv"
    lines = (EXAMPLE / "people.csv").read_text(encoding="cp1252").splitlines()
    header, row = lines[0], lines[LINE - 1]
    csv.write_text(
        "\n".join([header, row.replace(EMAIL, old), row.replace(EMAIL, f" {new.upper()} ")]) + "\n",
        encoding="utf-8",
    )
    code, out, err = _connector(path, "import", "people", str(csv))
    assert code == 0, err
    assert "people.csv:2: E-Mail: this person was erased" in out
    assert "people.csv:3: E-Mail: this person was erased" in out
    assert "person: 0 created" in out


def test_the_kept_hash_is_keyed_per_store(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "cohort.db", tmp_path / "b" / "cohort.db"
    for path in (first, second):
        path.parent.mkdir()
        _erased(path)
    [(a, _, _)] = _erased_rows(first)
    [(b, _, _)] = _erased_rows(second)
    assert a != b  # the same address, another store: another value
    with Store.open(first) as store:
        [(key,)] = store.db.execute("SELECT key FROM erasure_key").fetchall()
    assert len(key) == 32
    # HMAC-SHA256 under the store's key of the address stripped and casefolded; the plain
    # hash of the address is not what is kept.
    assert a == hmac.new(key, EMAIL.encode(), hashlib.sha256).hexdigest()
    assert a != hashlib.sha256(EMAIL.encode()).hexdigest()
    with Store.open(first) as store:
        found = ErasedAddresses(store).find(f"  {EMAIL.upper()}\t")
    assert found == Erased(_erased_rows(first)[0][1], 1)


def test_the_notice_is_german_under_a_german_locale(erased: Path) -> None:
    done = run_connector(
        "--store",
        str(erased),
        "import",
        "people",
        str(EXAMPLE / "people.csv"),
        env={"LANG": "de_DE.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""},
    )
    assert done.returncode == 0, done.stderr
    assert f"people.csv:{LINE}: E-Mail: diese Person wurde am" in done.stdout
    assert f"--readmit {EMAIL}" in done.stdout and "was erased" not in done.stdout


def test_the_erased_addresses_migration_upgrades_an_older_store(tmp_path: Path) -> None:
    path = tmp_path / "cohort.db"
    with Store.open(path) as store:
        for kind in IMPORT_ORDER[:3]:
            import_file(store, kind, EXAMPLE / f"{kind}.csv")
        store.db.executescript(UNDO_ERASED_ADDRESSES)
        store.db.execute("PRAGMA user_version = 6")  # the schema before migration 7
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == 7
        assert len(_live(store)) == 82
        erase(store, begin(store, EMAIL), [], lambda: [])
    assert len(_erased_rows(path)) == 1


def sync_after_erasure(store: Store, subscribed: list[str]) -> tuple[Any, Any]:
    """Anna's cohort in ``store``, Anna erased, ``subscribed`` on a list that creates people
    from its members, one pass: (the pass's result, the list platform)."""
    from connector.memory import MemoryTarget
    from tests.test_engine import REVEAL, cohort_with_anna, list_mapping, sync

    MemoryTarget.reset()
    fields = [{"remote": "email", "canonical": "email", "direction": "both"}]
    mapping = list_mapping(
        "mentees-10@lists.example",
        fields,
        create_from_remote=True,
        defaults={"given_name": "Neu", "family_name": "Eingetragen"},
    )
    cohort_with_anna(store)
    erase(store, begin(store, "anna@x.example"), [], lambda: [])
    lists = MemoryTarget("memory://lists")
    for address in subscribed:
        lists.add("mentees-10@lists.example", {"email": address})
    [result] = sync(store, mapping, REVEAL)
    return result, lists


def test_a_list_subscription_does_not_bring_her_back_through_sync(tmp_path: Path) -> None:
    from connector.memory import MemoryTarget

    path = tmp_path / "store.db"
    with Store.open(path) as store:
        result, lists = sync_after_erasure(store, [" Anna@X.example", "bea@x.example"])
        assert sorted(p.email for p in _live(store)) == ["bea@x.example"]
        assert result.counts.get("import") == 1
        # Her subscription is left alone on the list, for a person to look at.
        assert " Anna@X.example" in [
            r.fields["email"] for r in lists.records("mentees-10@lists.example").values()
        ]
        [problem] = result.problems
        assert "was erased with connector forget on" in problem and "(receipt 1)" in problem
    MemoryTarget.reset()
    assert _store_findings(path, ["anna@x.example", "Anna Beispiel"]) == []


def test_a_cell_that_only_mentions_her_leaves_her_out_and_the_row_comes_in(
    tmp_path: Path,
) -> None:
    council = "pia.hessing@greven.example"  # on the council, assigned to a task
    path = tmp_path / "cohort.db"
    with Store.open(path) as store:
        for kind in IMPORT_ORDER:
            import_file(store, kind, EXAMPLE / f"{kind}.csv")
        erase(store, begin(store, council), [], lambda: [])
    code, out, err = _connector(path, "import", "cohorts", str(EXAMPLE / "cohorts.csv"))
    assert code == 0, err
    assert "cohort: 0 created, 0 updated, 1 unchanged" in out
    assert f"cohorts.csv:2: council: {council} was erased on" in out
    assert "left out of this cell" in out
    code, out, err = _connector(path, "import", "tasks", str(EXAMPLE / "tasks.csv"))
    assert code == 0, err
    assert "task: 0 created, 0 updated, 11 unchanged" in out
    assert f"tasks.csv:2: Zuständig: {council} was erased on" in out
    with Store.open(path) as store:
        [task] = [
            t
            for t in store.entities("task")
            if isinstance(t, Task) and t.title == "Profilbögen der eigenen Kommune sichten"
        ]
        assert task.assignee is None
    assert _store_findings(path, [council, "Pia Hessing"]) == []
