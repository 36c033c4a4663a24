"""The engine on memory targets: embargo, mass-deletion guard, conflicts, imports, opt-outs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC as UTC_ZONE
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.engine import Options
from sync.errors import GuardTripped
from sync.factory import build_engine
from sync.model import BERLIN, Cohort, Event, Organisation, Person, Tandem, Task
from sync.store import Store
from tests.factories import cohort_10

REVEAL = date(2026, 3, 10)
AUDIENCES = ["council", "mentees", "mentors", "participants"]


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store.db") as opened:
        yield opened


def cohort_with_anna(store: Store) -> None:
    """Cohort 10 and one mentee, Anna, who agreed to programme mail."""
    store.put(cohort_10())
    store.put(
        Person(
            uid="p-1",
            given_name="Anna",
            family_name="Beispiel",
            email="anna@x.example",
            roles={"mentee"},
            cohorts={"mim-10"},
        )
    )


def list_mapping(address: str, fields: list[dict[str, Any]], **rule: Any) -> MappingFile:
    """A mentees' mailing list on a memory target."""
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "lists": {"kind": "memory", "url": "memory://lists", "audience": "mentees"}
            },
            "rules": [
                {
                    "name": "mentees",
                    "entity": "person",
                    "target": "lists",
                    "key": "email",
                    "list": {"address": address, "display_name": "Mentees"},
                    "fields": fields,
                    **rule,
                }
            ],
        }
    )


def cohort_with_tandems(store: Store, pairs: int = 3) -> list[Tandem]:
    """A cohort with organisations, people, tandems, tandem meetings and a workshop."""
    store.put(cohort_10(reveal_on=REVEAL))
    tandems = []
    for i in range(pairs):
        for org in (f"org-{i}a", f"org-{i}b"):
            store.put(Organisation(uid=org, name=f"Stadt {org}", short_name=org, org_kind="Stadt"))
        mentee = Person(
            uid=f"mentee-{i}",
            given_name=f"Menta{i}",
            family_name="Lernend",
            email=f"mentee{i}@a.example",
            organisation=f"org-{i}a",
            roles={"mentee"},
            cohorts={"mim-10"},
        )
        mentor = Person(
            uid=f"mentor-{i}",
            given_name=f"Mento{i}",
            family_name="Erfahren",
            email=f"mentor{i}@b.example",
            organisation=f"org-{i}b",
            roles={"mentor"},
            cohorts={"mim-10"},
        )
        tandem = Tandem(
            uid=f"tandem-{i}",
            cohort="mim-10",
            mentee=mentee.uid,
            mentor=mentor.uid,
            matched_on=date(2026, 1, 15),
        )
        meeting = Event(
            uid=f"meeting-{i}",
            cohort="mim-10",
            event_kind="tandem_meeting",
            title=f"Tandemtreffen {mentee.given_name} & {mentor.given_name}",
            start=datetime(2026, 4, 1, 10, tzinfo=BERLIN),
            end=datetime(2026, 4, 1, 12, tzinfo=BERLIN),
            tandem=tandem.uid,
            audience={"mentees", "mentors"},
        )
        for entity in (mentee, mentor, tandem, meeting):
            store.put(entity)
        tandems.append(tandem)
    store.put(
        Event(
            uid="start-workshop",
            cohort="mim-10",
            event_kind="start_workshop",
            title="Startworkshop",
            start=datetime(2026, 3, 10, 9, tzinfo=BERLIN),
            end=datetime(2026, 3, 10, 16, tzinfo=BERLIN),
            audience={"mentees", "mentors"},
        )
    )
    return tandems


def embargo_mapping() -> MappingFile:
    """Tandems and events to a memory target of every audience, with tell-tale templates."""
    targets = {a: {"kind": "memory", "url": f"memory://{a}", "audience": a} for a in AUDIENCES}
    rules: list[dict[str, Any]] = []
    for audience in AUDIENCES:
        rules.append(
            {
                "name": f"tandems-{audience}",
                "entity": "tandem",
                "target": audience,
                "deck": {"board": "Tandems", "stacks": ["Tandems"]},
                "fields": [
                    {
                        "remote": "title",
                        "direction": "out",
                        "template": "{mentee.name} ↔ {mentor.name}",
                    }
                ],
            }
        )
        rules.append(
            {
                "name": f"events-{audience}",
                "entity": "event",
                "target": audience,
                "calendar": {"calendar": "termine", "display_name": "Termine"},
                "fields": [
                    {"remote": "summary", "canonical": "title", "policy": "canonical"},
                    {
                        "remote": "description",
                        "direction": "out",
                        "template": "Tandem: {tandem.mentee} / {tandem.mentor}",
                    },
                ],
            }
        )
    return MappingFile.model_validate(
        {
            "name": "embargo",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": targets,
            "rules": rules,
        }
    )


def all_text(target: MemoryTarget, collection: str) -> list[str]:
    return [
        " ".join(str(v) for v in r.fields.values()) for r in target.records(collection).values()
    ]


def sync(store: Store, mapping: MappingFile, today: date, **options: Any) -> list[Any]:
    targets = {name: MemoryTarget(spec.url) for name, spec in mapping.targets.items()}
    results = build_engine(store, mapping, dict(targets), Options(today=today, **options)).sync()
    return results


def test_pairings_stay_secret_until_the_reveal_date(store: Store) -> None:
    tandems = cohort_with_tandems(store)
    mapping = embargo_mapping()
    sync(store, mapping, REVEAL.replace(day=9))
    for audience in ("mentees", "mentors", "participants"):
        target = MemoryTarget(f"memory://{audience}")
        assert target.records("Tandems") == {}, audience
        markers = {r.marker for r in target.records("termine").values()}
        assert markers == {"start-workshop"}, audience
        for text in all_text(target, "termine"):
            for i in range(len(tandems)):
                assert not (f"Menta{i}" in text and f"Mento{i}" in text), text
    council = MemoryTarget("memory://council")
    assert len(council.records("Tandems")) == len(tandems)
    assert len(council.records("termine")) == len(tandems) + 1

    sync(store, mapping, REVEAL)
    for audience in ("mentees", "mentors", "participants"):
        target = MemoryTarget(f"memory://{audience}")
        titles = sorted(r.fields["title"] for r in target.records("Tandems").values())
        assert titles == [f"Menta{i} Lernend ↔ Mento{i} Erfahren" for i in range(len(tandems))]
        assert len(target.records("termine")) == len(tandems) + 1


def test_embargo_holds_even_when_the_reveal_date_moves_later(store: Store) -> None:
    cohort_with_tandems(store, pairs=1)
    mapping = embargo_mapping()
    sync(store, mapping, REVEAL)
    assert len(MemoryTarget("memory://mentees").records("Tandems")) == 1
    cohort = store.get("mim-10")
    assert isinstance(cohort, Cohort)
    store.put(cohort.touched(reveal_on=date(2026, 4, 1)))
    sync(store, mapping, REVEAL)
    assert MemoryTarget("memory://mentees").records("Tandems") == {}
    assert len(MemoryTarget("memory://council").records("Tandems")) == 1


def task_mapping(**rule: Any) -> MappingFile:
    base = {
        "name": "aufgaben",
        "entity": "task",
        "target": "board",
        "deck": {"board": "Aufgaben", "stacks": ["Offen", "Erledigt"]},
        "fields": [
            {"remote": "title", "canonical": "title", "policy": "ask"},
            {
                "remote": "stack",
                "canonical": "done",
                "values": {"false": "Offen", "true": "Erledigt"},
                "policy": "remote",
            },
        ],
    }
    base.update(rule)
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "board": {"kind": "memory", "url": "memory://board", "audience": "council"}
            },
            "rules": [base],
        }
    )


def tasks(store: Store, count: int) -> None:
    store.put(cohort_10())
    for i in range(count):
        store.put(Task(uid=f"task-{i}", cohort="mim-10", title=f"Aufgabe {i}"))


def test_mass_deletion_guard_stops_the_collection_and_the_override_lets_it_through(
    store: Store,
) -> None:
    tasks(store, 10)
    mapping = task_mapping(on_remote_delete="tombstone")
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    for remote_id in sorted(board.records("Aufgaben"))[:5]:
        board.remove("Aufgaben", remote_id)

    results = sync(store, mapping, REVEAL)
    assert isinstance(results[0].error, GuardTripped)
    assert "5 of 10" in str(results[0].error)
    assert len(store.entities("task")) == 10
    assert len(store.links("mim-10:aufgaben")) == 10

    results = sync(store, mapping, REVEAL, allow_mass_delete=frozenset({"aufgaben"}))
    assert results[0].error is None
    assert results[0].counts == {"tombstone": 5}
    assert len(store.entities("task")) == 5


def test_a_few_deletions_pass_the_guard(store: Store) -> None:
    tasks(store, 10)
    mapping = task_mapping(on_remote_delete="restore")
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    board.remove("Aufgaben", sorted(board.records("Aufgaben"))[0])
    results = sync(store, mapping, REVEAL)
    assert results[0].error is None and results[0].counts == {"restore": 1}
    assert len(board.records("Aufgaben")) == 10


def test_conflict_is_parked_then_resolved_on_both_sides(store: Store) -> None:
    tasks(store, 1)
    mapping = task_mapping()
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    (remote_id,) = board.records("Aufgaben")
    board.edit("Aufgaben", remote_id, title="Raum buchen (Beirat)")
    task = store.get("task-0")
    assert task is not None
    store.put(task.touched(title="Raum buchen (Koordination)"))

    results = sync(store, mapping, REVEAL)
    assert results[0].counts.get("conflict") == 1
    (conflict,) = store.conflicts()
    assert (conflict.canonical, conflict.remote) == (
        "Raum buchen (Koordination)",
        "Raum buchen (Beirat)",
    )
    assert board.records("Aufgaben")[remote_id].fields["title"] == "Raum buchen (Beirat)"
    assert store.get("task-0").title == "Raum buchen (Koordination)"

    store.resolve_conflict(conflict.id, "Raum buchen (alle)")
    sync(store, mapping, REVEAL)
    assert board.records("Aufgaben")[remote_id].fields["title"] == "Raum buchen (alle)"
    assert store.get("task-0").title == "Raum buchen (alle)"
    assert store.conflicts() == []


def test_card_added_by_hand_becomes_a_task_where_the_rule_allows(store: Store) -> None:
    tasks(store, 0)
    mapping = task_mapping(
        create_from_remote=True, create_when={"stack": "Offen"}, defaults={"cohort": "mim-10"}
    )
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    board.add("Aufgaben", {"title": "Flyer drucken", "stack": "Offen"})
    board.add("Aufgaben", {"title": "Schon erledigt", "stack": "Erledigt"})
    results = sync(store, mapping, REVEAL)
    assert results[0].counts == {"import": 1}
    (task,) = store.entities("task")
    assert isinstance(task, Task) and task.title == "Flyer drucken" and not task.done
    assert sync(store, mapping, REVEAL)[0].counts == {}


def test_plan_writes_nothing(store: Store, tmp_path: Path) -> None:
    tasks(store, 3)
    mapping = task_mapping()
    targets = {"board": MemoryTarget("memory://board")}
    before = (tmp_path / "store.db").read_bytes()
    results = build_engine(store, mapping, dict(targets), Options(today=REVEAL)).plan()
    assert [i.action for i in results[0].plan.items] == ["create"] * 3  # type: ignore[union-attr]
    assert MemoryTarget("memory://board").space.collections == {}
    assert (tmp_path / "store.db").read_bytes() == before


def test_opt_out_is_recorded_and_never_undone(store: Store) -> None:
    cohort_with_anna(store)
    email = [{"remote": "email", "canonical": "email", "direction": "out"}]
    mapping = list_mapping(
        "mentees-10@lists.example", email, filter={"roles": "mentee"}, on_remote_delete="opt_out"
    )
    sync(store, mapping, REVEAL)
    lists = MemoryTarget("memory://lists")
    (remote_id,) = lists.records("mentees-10@lists.example")
    lists.remove("mentees-10@lists.example", remote_id)
    for _ in range(2):
        sync(store, mapping, REVEAL)
    person = store.get("p-1")
    assert isinstance(person, Person) and "mentees-10@lists.example" in person.opt_outs
    assert lists.records("mentees-10@lists.example") == {}


def test_member_found_by_address_is_adopted_not_duplicated(store: Store) -> None:
    cohort_with_anna(store)
    lists = MemoryTarget("memory://lists")
    lists.add("l@x.example", {"email": "anna@x.example", "display_name": "A."})
    mapping = list_mapping(
        "l@x.example",
        [
            {"remote": "email", "canonical": "email", "direction": "out"},
            {
                "remote": "display_name",
                "template": "{given_name} {family_name}",
                "direction": "out",
            },
        ],
    )
    results = sync(store, mapping, REVEAL)
    assert results[0].counts == {"adopt": 1}
    (record,) = lists.records("l@x.example").values()
    assert record.fields["display_name"] == "Anna Beispiel"


def test_a_target_that_is_down_stops_only_its_own_rules(store: Store) -> None:
    tasks(store, 2)
    mapping = task_mapping()
    target = MemoryTarget("memory://board")
    target.outage = True
    results = build_engine(store, mapping, {"board": target}, Options(today=REVEAL)).sync()
    assert results[0].error is not None and "down" in str(results[0].error)
    assert store.links("mim-10:aufgaben") == {}
    assert store.cursor("mim-10:aufgaben") == (None, None)


def test_a_platform_edit_that_breaks_a_domain_rule_is_refused(store: Store) -> None:
    """Relabelling an applicant into their mentor's organisation would break cross-mentoring."""
    from sync.model import Application

    cohort_with_tandems(store, pairs=1)
    store.put(Application(uid="app-0", cohort="mim-10", applicant="mentee-0", status="selected"))
    mapping = MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "board": {"kind": "memory", "url": "memory://board", "audience": "council"}
            },
            "rules": [
                {
                    "name": "bewerbungen",
                    "entity": "application",
                    "target": "board",
                    "deck": {"board": "Beirat", "stacks": ["Ausgewählt"]},
                    "fields": [
                        {
                            "remote": "labels",
                            "canonical": "applicant.organisation",
                            "lookup": "short_name",
                            "policy": "remote",
                        }
                    ],
                }
            ],
        }
    )
    board = MemoryTarget("memory://board")
    engine = build_engine(store, mapping, {"board": board}, Options(today=REVEAL))
    engine.sync()
    (remote_id,) = board.records("Beirat")
    board.edit("Beirat", remote_id, labels=["org-0b"])
    for _ in range(2):  # refused, and reported again: the council's label is not overwritten
        engine = build_engine(store, mapping, {"board": board}, Options(today=REVEAL))
        results = engine.sync()
        assert any("different organisations" in p for p in results[0].problems), results[0]
        assert store.get("mentee-0").organisation == "org-0a"
        assert board.records("Beirat")[remote_id].fields["labels"] == ["org-0b"]


def test_a_collection_that_vanished_is_made_again(store: Store) -> None:
    tasks(store, 2)
    mapping = task_mapping(on_remote_delete="restore")
    sync(store, mapping, REVEAL)
    board = MemoryTarget("memory://board")
    del board.space.collections["Aufgaben"]
    results = sync(store, mapping, REVEAL)
    assert results[0].error is None and results[0].counts == {"restore": 2}
    assert len(board.records("Aufgaben")) == 2


def test_a_long_running_daemon_reveals_tandems_when_the_day_comes(
    store: Store,
) -> None:
    """The day is read at every pass, in Berlin: one engine object crosses the reveal date."""
    cohort_with_tandems(store, pairs=1)
    mapping = embargo_mapping()
    targets = {name: MemoryTarget(spec.url) for name, spec in mapping.targets.items()}
    # 23:30 UTC on the eve is already the reveal day in Berlin (UTC+1 in March).
    now = [datetime(2026, 3, 9, 22, 30, tzinfo=BERLIN).astimezone(UTC_ZONE)]
    engine = build_engine(store, mapping, dict(targets), Options(), clock=lambda: now[0])
    engine.sync()
    assert MemoryTarget("memory://mentees").records("Tandems") == {}
    now[0] = datetime(2026, 3, 10, 0, 30, tzinfo=BERLIN).astimezone(UTC_ZONE)
    engine.sync()
    assert len(MemoryTarget("memory://mentees").records("Tandems")) == 1


def test_an_imported_card_keeps_values_that_cannot_become_canonical(store: Store) -> None:
    tasks(store, 0)
    mapping = task_mapping(
        create_from_remote=True,
        create_when={"stack": "Offen"},
        defaults={"cohort": "mim-10"},
        fields=[
            {"remote": "title", "canonical": "title", "policy": "ask"},
            {
                "remote": "stack",
                "canonical": "done",
                "values": {"false": "Offen", "true": "Erledigt"},
            },
            {
                "remote": "assignees",
                "canonical": "assignee",
                "lookup": "deck_user",
                "policy": "ask",
            },
        ],
    )
    for user in ("x", "y"):
        store.put(
            Person(
                uid=f"council-{user}",
                given_name=user,
                family_name="Beirat",
                email=f"{user}@x.example",
                roles={"council"},
                cohorts={"mim-10"},
                deck_user=user,
            )
        )
    board = MemoryTarget("memory://board")
    sync(store, mapping, REVEAL)
    # Two council members on one card: a task has one assignee, so this cannot be mapped.
    card = board.add("Aufgaben", {"title": "Flyer", "stack": "Offen", "assignees": ["x", "y"]})
    for _ in range(2):
        results = sync(store, mapping, REVEAL)
        assert any("only one may be set" in p for p in results[0].problems), results[0].problems
        assert board.records("Aufgaben")[card].fields["assignees"] == ["x", "y"]
    assert [t.title for t in store.entities("task") if isinstance(t, Task)] == ["Flyer"]
