"""Issue 10, finding 7: a value that cannot round-trip is not written back.

``Task.due`` is a date; Deck keeps a moment. A due entered on the board as 10:00 UTC becomes
that day in Berlin, and rendering the day again gives midnight in Berlin: a different remote
value for the same canonical one. The rule: a field that cannot keep the canonical value
exactly is written only when the canonical value changed. Real engine and Deck adapter against
the Deck double.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.test_deck import Person
from tests.test_deck_sync import World
from tests.test_noloss_partial import deck_world

TEN_UTC = "2026-10-15T10:00:00+00:00"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from deck_world(tmp_path, {"beirat": ["bob", "carol"]})


@pytest.fixture
def bob(world: World) -> Person:
    return Person(world.srv)


def writes(world: World) -> list[tuple[str, str]]:
    return [(m, p) for m, p in world.srv.requests if m != "GET"]


def test_a_due_time_set_on_the_board_is_kept_and_never_rounded_back(
    world: World, bob: Person
) -> None:
    world.settle()
    card = world.card("aufgaben", "task-raum")
    bob.edit(world.board("aufgaben"), card["id"], duedate=TEN_UTC)
    world.clock.tick()
    assert world.sync()["aufgaben"].counts == {"update": 1}
    assert world.entity("task-raum").due == date(2026, 10, 15)
    for _ in range(2):
        world.srv.reset_requests()
        results = world.sync()
        assert not any(r.counts for r in results.values()), [r.counts for r in results.values()]
        assert writes(world) == [], "an edit nobody made"
        assert world.card("aufgaben", "task-raum")["duedate"] == TEN_UTC
    # A real change of the canonical date is still written.
    world.put(world.entity("task-raum").touched(due=date(2026, 10, 20)))
    assert world.sync()["aufgaben"].counts == {"update": 1}
    assert world.card("aufgaben", "task-raum")["duedate"] == "2026-10-19T22:00:00+00:00"


def test_an_imported_card_with_a_due_time_is_not_rewritten(world: World, bob: Person) -> None:
    world.settle()
    board = world.board("aufgaben")
    made = bob(
        "POST",
        f"/boards/{board}/stacks/{world.stack('aufgaben', 'Offen')}/cards",
        {"title": "Catering anfragen", "type": "plain", "duedate": TEN_UTC},
    )
    world.clock.tick()
    assert world.sync()["aufgaben"].counts.get("import") == 1
    [task] = [t for t in world.store.entities("task") if t.uid != "task-raum"]
    assert task.due == date(2026, 10, 15)  # type: ignore[attr-defined]
    world.srv.reset_requests()
    world.sync()
    world.sync()
    assert not [(m, p) for m, p in writes(world) if p.endswith(f"/cards/{made['id']}")]
    assert Person(world.srv, "admin").card(board, made["id"])["duedate"] == TEN_UTC
