"""A record whose entity leaves the rule's scope takes the edits made on it along.

Found by the shipped state machine (seed 7): the council renamed its meeting on the council
calendar while the office made it an event for the participants; the pass deleted the record
(out of scope now) and the new title with it. The edits are merged into the store first,
field by field; a field both sides changed follows its policy, and ``ask`` keeps the record
until a person has decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.memory import MemoryTarget
from sync.engine import Options
from sync.factory import build_engine
from sync.model import Task
from sync.store import Store
from tests.factories import cohort_10
from tests.test_engine import REVEAL, sync, task_mapping, tasks
from tests.test_two_writers import PullHook


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db") as opened:
        yield opened


def moved_to_the_next_cohort(store: Store, title: str | None = None) -> None:
    """The office moves task-0 to cohort 11 (out of the rule's scope), maybe renaming it."""
    store.put(cohort_10(uid="mim-11", number=11, title="Mentoring 11"))
    task = store.get("task-0")
    assert isinstance(task, Task)
    changes: dict[str, object] = {"cohort": "mim-11"}
    if title is not None:
        changes["title"] = title
    store.put(task.touched(**changes))


def test_an_edit_on_a_record_leaving_the_scope_reaches_the_store(store: Store) -> None:
    tasks(store, 1)
    mapping = task_mapping()
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    (remote_id,) = board.records("Aufgaben")
    board.edit("Aufgaben", remote_id, title="Raum buchen (Beirat)", stack="Erledigt")
    moved_to_the_next_cohort(store)

    (result,) = sync(store, mapping, REVEAL)
    assert result.error is None and result.counts == {"delete": 1}
    assert board.records("Aufgaben") == {}
    task = store.get("task-0")
    assert isinstance(task, Task)
    assert (task.title, task.done, task.cohort) == ("Raum buchen (Beirat)", True, "mim-11")
    assert store.links("mim-10:aufgaben") == {} and store.journal() == []


def test_a_conflict_on_a_record_leaving_the_scope_keeps_it_until_decided(store: Store) -> None:
    tasks(store, 1)
    mapping = task_mapping()  # title: policy "ask"
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    (remote_id,) = board.records("Aufgaben")
    board.edit("Aufgaben", remote_id, title="Raum buchen (Beirat)")
    moved_to_the_next_cohort(store, title="Raum buchen (Koordination)")

    (result,) = sync(store, mapping, REVEAL)
    assert result.counts == {"conflict": 1}
    (conflict,) = store.conflicts()
    assert (conflict.canonical, conflict.remote) == (
        "Raum buchen (Koordination)",
        "Raum buchen (Beirat)",
    )
    # Both sides stay as they are while a person decides (nothing is written to the record).
    assert board.records("Aufgaben")[remote_id].fields["title"] == "Raum buchen (Beirat)"
    assert sync(store, mapping, REVEAL)[0].counts == {}
    assert remote_id in board.records("Aufgaben")

    store.resolve_conflict(conflict.id, "Raum buchen (Beirat)")
    (result,) = sync(store, mapping, REVEAL)
    assert result.counts == {"delete": 1}
    assert board.records("Aufgaben") == {}
    task = store.get("task-0")
    assert isinstance(task, Task) and task.title == "Raum buchen (Beirat)"
    assert store.conflicts() == [] and store.links("mim-10:aufgaben") == {}
    assert sync(store, mapping, REVEAL)[0].counts == {}


def test_a_record_leaving_the_scope_unedited_is_just_deleted(store: Store) -> None:
    tasks(store, 1)
    mapping = task_mapping()
    sync(store, mapping, REVEAL)
    moved_to_the_next_cohort(store, title="Neu")
    (result,) = sync(store, mapping, REVEAL)
    assert result.counts == {"delete": 1}
    task = store.get("task-0")
    assert isinstance(task, Task) and task.title == "Neu"
    assert MemoryTarget("memory://board").records("Aufgaben") == {}


def test_a_record_leaving_the_scope_stays_while_its_edit_cannot_be_stored(
    store: Store, tmp_path: Path
) -> None:
    """The carried edit meets another writer of the store (the office renames the task again
    between the pass's pull and its apply): the record and its link stay, nothing is lost,
    and the next pass asks a person, as ``ask`` wants."""
    tasks(store, 1)
    mapping = task_mapping()  # title: policy "ask"
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    (remote_id,) = board.records("Aufgaben")
    board.edit("Aufgaben", remote_id, title="Raum buchen (Beirat)")
    moved_to_the_next_cohort(store)

    def office_renames_it() -> None:
        with Store.open(tmp_path / "store.db") as other:
            task = other.get("task-0")
            assert isinstance(task, Task)
            other.put(task.touched(title="Raum buchen (Koordination)"))

    PullHook.hooks["Aufgaben"] = office_renames_it
    targets = {name: PullHook(spec.url) for name, spec in mapping.targets.items()}
    (result,) = build_engine(store, mapping, dict(targets), Options(today=REVEAL)).sync()

    assert result.error is None
    assert remote_id in board.records("Aufgaben"), "deleted with an edit not stored"
    assert "task-0" in store.links("mim-10:aufgaben")
    task = store.get("task-0")
    assert isinstance(task, Task) and task.title == "Raum buchen (Koordination)"

    (result,) = sync(store, mapping, REVEAL)
    (conflict,) = store.conflicts()
    assert (conflict.canonical, conflict.remote) == (
        "Raum buchen (Koordination)",
        "Raum buchen (Beirat)",
    )
    assert board.records("Aufgaben")[remote_id].fields["title"] == "Raum buchen (Beirat)"
