"""A quiet pass merges only what changed (issue 14), and still everything that did.

A linked record filled from its last-seen copy is left out of the plan when nothing it is
planned from changed since the rule's last complete plan (see :mod:`sync.plan_skip`). Each
test below changes one of those inputs (the entity, an entity it renders from, the day, the
rule, an open conflict) and checks that the record is planned again; each fails when the
corresponding check in :func:`sync.plan_skip.settled` is removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.base import RemoteRecord
from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.engine import Options, RuleResult
from sync.factory import build_engine
from sync.model import Cohort, Person, Task
from sync.plan import Action
from sync.plan_merge import MergePlanner
from sync.store import Store
from tests.test_engine import REVEAL, cohort_with_tandems, embargo_mapping

TODAY = date(2026, 1, 1)
BOARD = "Aufgaben"


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db") as opened:
        yield opened


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The uids the planner merges, in order (the work a pass does per linked record)."""
    seen: list[str] = []
    original = MergePlanner._merge

    def counting(self: MergePlanner, action: Action, entity: Any, *args: Any) -> Any:
        seen.append(entity.uid)
        return original(self, action, entity, *args)

    monkeypatch.setattr(MergePlanner, "_merge", counting)
    return seen


def task_mapping(title: str = "title") -> MappingFile:
    """Tasks on a memory board; the owner's name is rendered from the assigned person."""
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {"board": {"kind": "memory", "url": "memory://b", "audience": "council"}},
            "rules": [
                {
                    "name": "aufgaben",
                    "entity": "task",
                    "target": "board",
                    "deck": {"board": BOARD, "stacks": ["Offen", "Erledigt"]},
                    "fields": [
                        {"remote": "title", "canonical": title, "policy": "ask"},
                        {
                            "remote": "stack",
                            "canonical": "done",
                            "values": {"false": "Offen", "true": "Erledigt"},
                            "policy": "ask",
                        },
                        {
                            "remote": "description",
                            "direction": "out",
                            "template": "Zuständig: {assignee.given_name}",
                        },
                    ],
                }
            ],
        }
    )


def cohort_with_tasks(store: Store, count: int) -> None:
    store.put(
        Cohort(
            uid="mim-10",
            programme="mim",
            number=10,
            title="Mentoring 10",
            period_start=date(2025, 3, 1),
            period_end=date(2026, 12, 31),
        )
    )
    store.put(
        Person(
            uid="p-1",
            given_name="Anna",
            family_name="Beispiel",
            email="a@x.example",
            roles={"council"},
            cohorts={"mim-10"},
        )
    )
    with store.transaction():
        for i in range(count):
            store.put(
                Task(
                    uid=f"task-{i:03d}",
                    cohort="mim-10",
                    title=f"Aufgabe {i}",
                    notes=f"Notiz {i}",
                    assignee="p-1",
                )
            )


def run(
    store: Store, mapping: MappingFile, *, write: bool = True, today: date = TODAY
) -> list[RuleResult]:
    targets = {name: MemoryTarget(spec.url) for name, spec in mapping.targets.items()}
    engine = build_engine(store, mapping, dict(targets), Options(today=today))
    return engine.sync() if write else engine.plan()


def board() -> dict[str, RemoteRecord]:
    return MemoryTarget("memory://b").records(BOARD)


def by_marker() -> dict[str, RemoteRecord]:
    return {r.marker or "": r for r in board().values()}


def settled_board(store: Store, count: int = 20) -> None:
    cohort_with_tasks(store, count)
    run(store, task_mapping())
    assert len(board()) == count


def test_a_quiet_pass_merges_only_the_changed_records(store: Store, merged: list[str]) -> None:
    settled_board(store, 200)
    run(store, task_mapping())
    merged.clear()
    run(store, task_mapping())
    assert merged == []  # nothing changed: no linked record is merged again
    task = store.get("task-007")
    assert task is not None
    store.put(task.touched(title="Aufgabe 7 (neu)"))
    remote_id = by_marker()["task-150"].remote_id
    MemoryTarget("memory://b").edit(BOARD, remote_id, stack="Erledigt")
    merged.clear()
    [result] = run(store, task_mapping())
    assert result.counts == {"update": 2}
    # The two changed records, each once more in the settle round after the writes (which
    # lists what was written); never the 198 others.
    assert set(merged) == {"task-007", "task-150"}
    assert len(merged) <= 4
    assert by_marker()["task-007"].fields["title"] == "Aufgabe 7 (neu)"
    done = store.get("task-150")
    assert done is not None and done.done is True


def test_a_quiet_plan_after_the_first_sync_merges_nothing(store: Store, merged: list[str]) -> None:
    settled_board(store, 50)
    merged.clear()
    [result] = run(store, task_mapping(), write=False)
    assert merged == [] and result.plan is not None and result.plan.linked == 50


def test_a_changed_entity_is_planned_again(store: Store) -> None:
    settled_board(store)
    task = store.get("task-003")
    assert task is not None
    store.put(task.touched(title="Aufgabe 3 (verschoben)"))
    run(store, task_mapping())
    assert by_marker()["task-003"].fields["title"] == "Aufgabe 3 (verschoben)"


def test_a_change_to_what_a_record_renders_from_is_planned_again(store: Store) -> None:
    settled_board(store)
    assert by_marker()["task-004"].fields["description"] == "Zuständig: Anna"
    person = store.get("p-1")
    assert person is not None
    store.put(person.touched(given_name="Annabell"))
    run(store, task_mapping())
    assert {r.fields["description"] for r in board().values()} == {"Zuständig: Annabell"}


def test_a_changed_rule_is_planned_again(store: Store) -> None:
    settled_board(store)
    run(store, task_mapping(title="notes"))
    assert by_marker()["task-005"].fields["title"] == "Notiz 5"


def test_an_answered_conflict_is_applied_on_a_quiet_pass(store: Store) -> None:
    settled_board(store)
    task = store.get("task-006")
    assert task is not None
    store.put(task.touched(title="Neu im Speicher"))
    remote_id = by_marker()["task-006"].remote_id
    MemoryTarget("memory://b").edit(BOARD, remote_id, title="Neu auf dem Board")
    run(store, task_mapping())
    [conflict] = store.conflicts()
    run(store, task_mapping())  # a quiet pass: the conflict waits for a person
    store.resolve_conflict(conflict.id, "Gewählt")
    run(store, task_mapping())  # nothing but the answer changed
    assert by_marker()["task-006"].fields["title"] == "Gewählt"
    resolved = store.get("task-006")
    assert resolved is not None and resolved.title == "Gewählt"
    assert store.conflicts() == []


def test_an_earlier_day_withdraws_what_the_embargo_holds_back(store: Store) -> None:
    """The day is part of the mark: planned for a day before the reveal, a tandem meeting
    linked on the reveal day is withdrawn again, though nothing in the store changed."""
    cohort_with_tandems(store)
    mapping = embargo_mapping()
    run(store, mapping, today=REVEAL)
    run(store, mapping, today=REVEAL)
    results = {r.rule: r for r in run(store, mapping, write=False, today=REVEAL.replace(day=9))}
    plan = results["events-mentees"].plan
    assert plan is not None
    deletes = {i.uid for i in plan.items if i.action == Action.DELETE}
    assert deletes == {"meeting-0", "meeting-1", "meeting-2"}


def test_a_watching_engine_sees_what_another_process_wrote(store: Store, tmp_path: Path) -> None:
    """``sync --watch`` keeps one engine, and with it the catalog and links of its last clean
    pass: what an import in another process wrote meanwhile still reaches the platform."""
    cohort_with_tasks(store, 20)
    mapping = task_mapping()
    engine = build_engine(store, mapping, {"board": MemoryTarget("memory://b")}, Options(TODAY))
    engine.sync()
    engine.sync()
    with Store.open(tmp_path / "store.db") as other:
        task = other.get("task-008")
        assert task is not None
        other.put(task.touched(title="Aufgabe 8 (importiert)"))
        other.tombstone("task-009")
        other.put(Task(uid="task-new", cohort="mim-10", title="Neu", assignee="p-1"))
    engine.sync()
    records = by_marker()
    assert records["task-008"].fields["title"] == "Aufgabe 8 (importiert)"
    assert "task-009" not in records and "task-new" in records
    [result] = engine.sync()
    assert result.counts == {}


def test_a_failed_pass_leaves_nothing_kept(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    cohort_with_tasks(store, 5)
    engine = build_engine(
        store, task_mapping(), {"board": MemoryTarget("memory://b")}, Options(TODAY)
    )
    engine.sync()
    kept = engine.cache.begin(store)
    engine.cache.end(clean=False)
    assert engine.cache.begin(store) is not kept  # loaded anew


def test_after_a_failed_item_the_next_pass_merges_everything(
    store: Store, merged: list[str]
) -> None:
    settled_board(store)
    store.put(Person(uid="p-2", given_name="Gast", family_name="Extern", email="g@x.example"))
    task = store.get("task-002")
    assert task is not None
    store.put(task.touched(assignee="p-2"))
    run(store, task_mapping())
    # Done on the board: the store refuses it (the assignee is neither council nor staff).
    remote_id = by_marker()["task-002"].remote_id
    MemoryTarget("memory://b").edit(BOARD, remote_id, stack="Erledigt")
    [failed] = run(store, task_mapping())
    assert "task-002" in failed.failures
    assert store.plan_mark("mim-10:aufgaben") is None
    merged.clear()
    run(store, task_mapping())
    assert len(set(merged)) == 20


def test_a_write_left_in_flight_is_merged_again(store: Store, merged: list[str]) -> None:
    """A journal entry (a write a crash interrupted) makes its record planned again, even
    when the platform's listing does not show it."""
    settled_board(store)
    run(store, task_mapping())
    remote_id = by_marker()["task-011"].remote_id
    store.journal_begin("mim-10:aufgaben", "task-011", "update", remote_id, {"base": {}})
    merged.clear()
    run(store, task_mapping())
    assert merged == ["task-011"]
    assert store.journal() == []


@pytest.fixture
def lists_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory platform as one that cannot tell what changed (Mailman, Deck): every
    listing is the whole collection."""
    original = MemoryTarget.changes

    def whole(self: MemoryTarget, collection: Any, cursor: str | None) -> Any:
        return original(self, collection, None)

    monkeypatch.setattr(MemoryTarget, "changes", whole)


@pytest.mark.usefixtures("lists_everything")
def test_a_platform_listing_everything_merges_only_what_changed(
    store: Store, merged: list[str]
) -> None:
    """A listed record that is its link's last-seen copy (same ETag, same fields) is left
    out like an unlisted one; what changed on either side is still merged."""
    settled_board(store, 100)
    run(store, task_mapping())
    merged.clear()
    run(store, task_mapping())
    assert merged == []
    task = store.get("task-010")
    assert task is not None
    store.put(task.touched(title="Aufgabe 10 (neu)"))
    MemoryTarget("memory://b").edit(BOARD, by_marker()["task-020"].remote_id, stack="Erledigt")
    merged.clear()
    [result] = run(store, task_mapping())
    assert result.counts == {"update": 2}
    assert set(merged) == {"task-010", "task-020"}
    assert by_marker()["task-010"].fields["title"] == "Aufgabe 10 (neu)"
    done = store.get("task-020")
    assert done is not None and done.done is True


@pytest.mark.usefixtures("lists_everything")
def test_a_record_changed_under_the_same_etag_is_merged(store: Store) -> None:
    """The ETag alone does not make a record unchanged: Mailman's ETag leaves out the
    delivery status, which the connector reads into the same record."""
    settled_board(store)
    run(store, task_mapping())
    remote_id = by_marker()["task-002"].remote_id
    kept = MemoryTarget("memory://b").space.collections[BOARD][remote_id]
    kept.fields["stack"] = "Erledigt"  # no new version: the same ETag
    [result] = run(store, task_mapping())
    assert result.counts == {"update": 1}
    done = store.get("task-002")
    assert done is not None and done.done is True


def test_a_quiet_pass_decodes_none_of_the_settled_entities(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog keeps the store's rows as read and decodes an entity when one is asked
    for: a quiet pass over 200 linked tasks decodes none of them."""
    import sync.catalog

    settled_board(store, 200)
    run(store, task_mapping())
    decoded: list[str] = []
    original = sync.catalog.entity_type

    def counting(kind: str) -> Any:
        decoded.append(kind)
        return original(kind)

    monkeypatch.setattr(sync.catalog, "entity_type", counting)
    [result] = run(store, task_mapping())
    assert result.counts == {} and result.error is None
    assert "task" not in decoded
    task = store.get("task-042")
    assert task is not None
    store.put(task.touched(title="Aufgabe 42 (neu)"))
    decoded.clear()
    run(store, task_mapping())
    assert decoded.count("task") == 1  # the changed one
    assert by_marker()["task-042"].fields["title"] == "Aufgabe 42 (neu)"


def test_only_tandems_and_events_can_be_withheld() -> None:
    """The embargo count reads no entity of the other kinds (``sync.outcome.withheld``):
    :func:`sync.scope.bears_tandem` is false for every one of them."""
    from sync.model import ENTITY_TYPES, Event, Tandem
    from sync.outcome import TANDEM_BEARING

    bearing = {kind for kind, cls in ENTITY_TYPES.items() if issubclass(cls, (Tandem, Event))}
    assert bearing == TANDEM_BEARING


def test_a_quiet_pass_reads_only_the_events_of_tandems(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embargo count needs the events that name a tandem; the others are told apart by
    their stored ``tandem`` value and never decoded in a quiet pass."""
    import sync.catalog

    cohort_with_tandems(store)
    mapping = embargo_mapping()
    run(store, mapping, today=REVEAL)
    run(store, mapping, today=REVEAL)
    decoded: list[str] = []
    original = sync.catalog.Catalog.get

    def counting(self: sync.catalog.Catalog, uid: str) -> Any:
        if uid in self._rows and self._rows[uid][0] == "event":
            decoded.append(uid)
        return original(self, uid)

    monkeypatch.setattr(sync.catalog.Catalog, "get", counting)
    run(store, mapping, today=REVEAL)
    with_tandem = {e.uid for e in store.entities("event") if getattr(e, "tandem", None)}
    assert with_tandem and len(with_tandem) < len(store.entities("event"))
    assert set(decoded) <= with_tandem
