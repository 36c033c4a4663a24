"""Issue 10, finding 2: two writers of the store never lose each other's changes.

A pass loads the catalog, pulls, plans and applies; an import (the real
:func:`sync.importer.import_file`) runs between the pass's pull and its apply. What the
import wrote must survive the pass's own writes, and the next pass pushes it. Runs the
shipped mapping on memory targets, built by the factory ``connector sync`` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest

from connector.base import Changes, Collection
from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.config import Config
from sync.engine import Options
from sync.factory import build_engine
from sync.importer import import_file
from sync.model import Application, ApplicationStatus, Person, Role, Task
from sync.runner import load_mappings
from sync.store import Store
from tests.shipped import import_example, write_shipped

TODAY = date(2026, 2, 1)
TASK = "Vernetzungstreffen Nord organisieren"
TASKS = "Mentoring 10 – Aufgaben"
APPLICATIONS = "Mentoring 10 – Beirat"


class PullHook(MemoryTarget):
    """A memory target that lets a second writer in right after a pass pulled a collection."""

    hooks: ClassVar[dict[str, Callable[[], None]]] = {}

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        pulled = super().changes(collection, cursor)
        hook = self.hooks.pop(collection.name, None)
        if hook is not None:
            hook()
        return pulled


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    PullHook.hooks.clear()
    yield
    MemoryTarget.reset()


@pytest.fixture
def mapping(tmp_path: Path) -> MappingFile:
    path = write_shipped(tmp_path / "mapping.toml")
    return load_mappings(Config(store=tmp_path / "cohort.db", mappings=[path]))[0]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "cohort.db") as opened:
        import_example(opened)
        yield opened


def sync(store: Store, mapping: MappingFile) -> None:
    targets = {name: PullHook(spec.url) for name, spec in mapping.targets.items()}
    results = build_engine(store, mapping, dict(targets), Options(today=TODAY)).sync()
    assert all(r.error is None for r in results), [str(r.error) for r in results]


def imports(store: Store, kind: str, csv: Path) -> None:
    """The second writer: a real import that updates one record."""
    report = import_file(store, kind, csv)
    assert report.written and sum(o.updated for o in report.outcomes.values()) >= 1, report


def card_of(title: str, board: str) -> tuple[str, dict[str, object]]:
    deck = MemoryTarget("memory://nextcloud")
    for remote_id, record in deck.records(board).items():
        if str(record.fields.get("title", "")).startswith(title):
            return remote_id, record.fields
    raise AssertionError(f"no card {title!r} on {board}")


def the_task(store: Store) -> Task:
    (task,) = [t for t in store.entities("task") if isinstance(t, Task) and t.title == TASK]
    return task


def test_an_import_between_pull_and_apply_survives_and_is_pushed(
    store: Store, mapping: MappingFile, tmp_path: Path
) -> None:
    sync(store, mapping)
    remote_id, fields = card_of(TASK, TASKS)
    # On the board, a council member marks the task done ...
    MemoryTarget("memory://nextcloud").edit(TASKS, remote_id, stack="Erledigt")
    # ... and while the next pass runs, the office imports a new due date for it.
    csv = tmp_path / "tasks.csv"
    csv.write_text(
        f"Durchgang,Aufgabe,Zuständig,Fällig,Erledigt\n"
        f"mim-10,{TASK},ulf.vogelsang@emsdetten.example,20.02.2026,\n",
        encoding="utf-8",
    )
    PullHook.hooks[TASKS] = lambda: imports(store, "tasks", csv)
    sync(store, mapping)

    task = the_task(store)
    assert task.done, "the board's edit was lost"
    assert task.due == date(2026, 2, 20), f"the import was undone by the pass (due {task.due})"
    sync(store, mapping)
    _, fields = card_of(TASK, TASKS)
    assert fields["due"] == "2026-02-19T23:00:00Z", fields["due"]  # midnight in Berlin
    assert fields["stack"] == "Erledigt"


def test_a_person_imported_during_a_pass_keeps_the_import_and_the_selection(
    store: Store, mapping: MappingFile, tmp_path: Path
) -> None:
    sync(store, mapping)
    remote_id, _ = card_of("Detlef Fockenbrock", APPLICATIONS)
    # The council selects Detlef on the board (he becomes a mentee: a domain consequence) ...
    MemoryTarget("memory://nextcloud").edit(APPLICATIONS, remote_id, stack="Ausgewählt")
    # ... while the office imports his new position.
    csv = tmp_path / "people.csv"
    csv.write_text(
        "Vorname;Nachname;E-Mail;Kommune;Rollen;Durchgang;Funktion;Regionalgruppe;"
        "Beiratssitz;Nextcloud-Benutzer;Einwilligung Profil\n"
        "Detlef;Fockenbrock;detlef.fockenbrock@ahlen.example;Ahlen;;;Teamleitung Klimaschutz;"
        ";;;nein\n",
        encoding="utf-8",
    )
    PullHook.hooks[APPLICATIONS] = lambda: imports(store, "people", csv)
    sync(store, mapping)

    (person,) = [
        p
        for p in store.entities("person")
        if isinstance(p, Person) and p.email == "detlef.fockenbrock@ahlen.example"
    ]
    (application,) = [
        a
        for a in store.entities("application")
        if isinstance(a, Application) and a.applicant == person.uid
    ]
    assert application.status is ApplicationStatus.SELECTED
    assert Role.MENTEE in person.roles and "mim-10" in person.cohorts, person
    assert person.position == "Teamleitung Klimaschutz", "the import was undone by the pass"


def test_a_conflict_resolved_during_a_pass_is_applied_by_the_next(tmp_path: Path) -> None:
    from tests.test_engine import task_mapping, tasks

    mapping = task_mapping()
    board = MemoryTarget("memory://board")
    with Store.open(tmp_path / "conflicts.db") as store:
        tasks(store, 2)
        sync(store, mapping)
        remote_id = next(i for i, r in board.records("Aufgaben").items() if r.marker == "task-1")
        task = store.get("task-1")
        assert isinstance(task, Task)
        store.put(task.touched(title="Raum buchen"))
        board.edit("Aufgaben", remote_id, title="Saal buchen")
        sync(store, mapping)
        (conflict,) = store.conflicts()
        # Someone settles it in the store (both sides now agree) ...
        store.put(task.touched(title="Saal buchen"))
        other = store.get("task-0")
        assert isinstance(other, Task)
        store.put(other.touched(title="Protokoll"))  # an item the pass applies first

        # ... while the next pass applies its items, a person resolves it with a third value.
        def resolve(rule: str, done: int, total: int) -> None:
            if done == 1:
                store.resolve_conflict(conflict.id, "Saal 2 buchen")

        targets = {"board": MemoryTarget("memory://board")}
        build_engine(store, mapping, targets, Options(today=TODAY)).sync(resolve)
        sync(store, mapping)
        task = store.get("task-1")
        assert isinstance(task, Task) and task.title == "Saal 2 buchen", task
        assert board.records("Aufgaben")[remote_id].fields["title"] == "Saal 2 buchen"
        assert store.conflicts() == []


def test_a_stale_write_is_refused_whole_and_re_merged_field_by_field(tmp_path: Path) -> None:
    from sync.catalog import Catalog
    from sync.revisions import write_checked
    from sync.store import StaleWrite

    with Store.open(tmp_path / "rev.db") as store:
        first = Task(uid="t", cohort="mim-10", title="Raum buchen", tags={"a"})
        assert store.put(first) == 1
        catalog = Catalog.load(store)  # a pass reads revision 1
        theirs = first.touched(title="Saal buchen", tags={"a", "b"})
        assert store.put(theirs, expect=1) == 2  # an import writes meanwhile
        ours = first.touched(done=True, tags={"a", "c"})
        with pytest.raises(StaleWrite):
            store.put(ours, expect=1)
        assert store.get("t") == theirs  # nothing of the stale write landed
        written, clashes = write_checked(store, catalog, ours)
        merged = store.get("t")
        assert isinstance(merged, Task) and merged == written and clashes == set()
        assert (merged.title, merged.done, merged.tags) == ("Saal buchen", True, {"a", "b", "c"})
        assert store.revision("t") == 3

        clashing = merged.touched(title="Aula buchen")
        store.put(merged.touched(title="Foyer buchen"))  # someone else, again
        _, clashes = write_checked(store, catalog, clashing)
        assert clashes == {"title"}
        task = store.get("t")
        assert isinstance(task, Task) and task.title == "Foyer buchen"
