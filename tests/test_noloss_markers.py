"""Issue 10, findings 5 and 8: what a record's marker may and may not be used for.

Finding 5: a council member copies a task card (its footer comes along), edits the copy and
writes a note on it. The copy is not ours; the connector deletes only records it can show are
its own (the record a link points to). Where the rule imports cards, the copy becomes a new
task with its own marker; elsewhere it is left alone and reported. Never deleted.

Finding 8: a card made by hand and imported, or found by key, carries no marker. It gets its
entity's marker, written once as an update, so that a store that lost its links (restored from
a backup) adopts it instead of importing it a second time.

Real engine and Deck adapter against the Deck double.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.deck_cards import split_footer
from sync.model import Task
from sync.store import Store
from tests.test_deck import Person
from tests.test_deck_sync import World
from tests.test_noloss_partial import deck_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from deck_world(tmp_path, {"beirat": ["bob", "carol"]})


@pytest.fixture
def bob(world: World) -> Person:
    return Person(world.srv)


def live_cards(world: World, rule: str) -> dict[int, Any]:
    board = world.board(rule)
    state = world.srv.state
    return {
        c.id: c
        for c in state.cards.values()
        if not c.deleted_at and state.stacks[c.stack_id].board_id == board
    }


def copy_card(world: World, bob: Person, rule: str, uid: str, stack: str, title: str) -> int:
    """bob copies the card of ``uid`` by hand: new card, same description, footer included;
    then he adds a line to it and comments on it."""
    original = world.card(rule, uid)
    board = world.board(rule)
    _text, marker = split_footer(original["description"])
    assert marker == uid
    made = bob(
        "POST",
        f"/boards/{board}/stacks/{world.stack(rule, stack)}/cards",
        {"title": title, "type": "plain", "description": original["description"]},
    )
    bob.edit(board, made["id"], description=original["description"] + "\n\nBitte bis Freitag.")
    world.srv.state.create_comment("bob", made["id"], {"message": "Übernehme ich – Bob"})
    world.clock.tick()
    return int(made["id"])


# -- finding 5: copies ----------------------------------------------------------------------


def test_a_copied_task_card_becomes_a_new_task_with_its_own_marker(
    world: World, bob: Person
) -> None:
    world.settle()
    before = world.entity("task-raum")
    original = world.links("aufgaben")["task-raum"].remote_id
    copy = copy_card(world, bob, "aufgaben", "task-raum", "Offen", "Zweiten Raum buchen")
    results = world.sync()
    assert results["aufgaben"].counts.get("delete") is None, results["aufgaben"].counts
    assert copy in live_cards(world, "aufgaben"), "the copy was deleted"
    assert [c.message for c in world.srv.state.comments.values() if c.card_id == copy] == [
        "Übernehme ich – Bob"
    ]
    new = [t for t in world.store.entities("task") if t.uid != "task-raum"]
    assert [t.title for t in new] == ["Zweiten Raum buchen"]  # type: ignore[attr-defined]
    assert new[0].notes.endswith("Bitte bis Freitag.")  # type: ignore[attr-defined]
    links = world.links("aufgaben")
    assert links[new[0].uid].remote_id == str(copy)
    assert links["task-raum"].remote_id == original
    copied = Person(world.srv, "admin").card(world.board("aufgaben"), copy)
    assert split_footer(copied["description"])[1] == new[0].uid, "the copy has its own marker"
    assert world.entity("task-raum").model_dump(exclude={"updated_at"}) == before.model_dump(
        exclude={"updated_at"}
    )
    world.settle()
    assert len(live_cards(world, "aufgaben")) == 2


def test_a_copy_the_rule_cannot_import_is_left_alone_and_reported(
    world: World, bob: Person
) -> None:
    world.settle()
    copies = [
        copy_card(world, bob, "aufgaben", "task-raum", "Erledigt", "Raum (alt)"),
        copy_card(world, bob, "bewerbungen", "app-anna", "Bewerbungen", "Anna (Notiz)"),
    ]
    for reported in (True, False):  # reported when it shows up; never deleted
        results = world.sync(clean=False)
        for rule, copy in zip(("aufgaben", "bewerbungen"), copies, strict=True):
            result = results[rule]
            assert result.error is None and "delete" not in result.counts, result.summary()
            assert copy in live_cards(world, rule), f"{rule}: the copy was deleted"
            notes = [n for n in result.notes if f"record {copy} " in n]
            assert bool(notes) == reported, result.summary()
            assert not notes or "left alone" in notes[0], notes
    assert {t.uid for t in world.store.entities("task")} == {"task-raum"}
    assert world.entity("app-anna").status == "received"


def test_a_card_of_a_deleted_task_is_not_deleted_when_it_is_not_linked(
    world: World, bob: Person
) -> None:
    """A copy of a card whose task is gone carries a marker of a deleted record: still
    someone's text, so it is imported as a new task (the rule allows it), not deleted."""
    world.put(Task(uid="task-flyer", cohort="mim-10", title="Flyer drucken"))
    world.settle()
    copy = copy_card(world, bob, "aufgaben", "task-flyer", "Offen", "Flyer nachdrucken")
    world.store.tombstone("task-flyer")
    results = world.sync(clean=False)
    assert copy in live_cards(world, "aufgaben"), results["aufgaben"].summary()
    titles = sorted(t.title for t in world.store.entities("task"))  # type: ignore[attr-defined]
    assert titles == ["Flyer nachdrucken", "Raum für den Auftakt buchen"]


# -- finding 8: adopted records get their marker ---------------------------------------------


def test_an_imported_card_gets_its_marker_once(world: World, bob: Person) -> None:
    world.settle()
    board = world.board("aufgaben")
    made = bob(
        "POST",
        f"/boards/{board}/stacks/{world.stack('aufgaben', 'Offen')}/cards",
        {"title": "Catering anfragen", "type": "plain", "description": "für 40 Personen"},
    )
    world.clock.tick()
    assert world.sync()["aufgaben"].counts.get("import") == 1
    [task] = [t for t in world.store.entities("task") if t.uid != "task-raum"]
    card = Person(world.srv, "admin").card(board, made["id"])
    assert split_footer(card["description"]) == ("für 40 Personen", task.uid)
    assert task.notes == "für 40 Personen"  # type: ignore[attr-defined]
    world.srv.reset_requests()
    assert not any(r.counts for r in world.sync().values())
    assert [m for m, _ in world.srv.requests if m != "GET"] == [], "the marker is written once"


def test_after_a_restore_from_backup_an_imported_card_is_adopted_not_imported_again(
    world: World, bob: Person, tmp_path: Path
) -> None:
    """A store that has the records but lost their links (restored from a backup of the
    records; the same happens when a rule is renamed) finds the card by its marker."""
    world.settle()
    board = world.board("aufgaben")
    bob(
        "POST",
        f"/boards/{board}/stacks/{world.stack('aufgaben', 'Offen')}/cards",
        {"title": "Catering anfragen", "type": "plain", "description": "für 40 Personen"},
    )
    world.clock.tick()
    world.sync()
    world.sync()
    tasks_before = {t.uid for t in world.store.entities("task")}
    world.store.close()
    backup = tmp_path / "backup.db"
    shutil.copy(world.store.path, backup)
    restored = Store.open(backup)
    for rule in ("mim-10:aufgaben", "mim-10:bewerbungen"):
        for uid in list(restored.links(rule)):
            restored.drop_link(rule, uid)
        restored.reset_cursor(rule)
    world.store = restored
    world.sync()
    world.settle()
    assert {t.uid for t in world.store.entities("task")} == tasks_before, "imported twice"
    assert len(live_cards(world, "aufgaben")) == 2
