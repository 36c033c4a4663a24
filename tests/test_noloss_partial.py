"""Issue 10, finding 1: a half-finished create must not overwrite canonical data.

A Deck card is created in several requests: ``POST`` the card, then ``assignLabel`` and
``assignUser``. When a later step fails (Deck refuses it, or the process dies), the card
exists without its label or assignee. The next pass finds it by its marker and adopts it; the
base of that adoption must be what the platform is known to hold, so the missing label or
assignee is written again rather than taken as someone's deletion. Runs the real engine and
Deck adapter against the Deck double.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector import deck_cards
from connector.deck import DeckTarget
from connector.testing.deck_server import DeckServer
from sync.store import Store
from tests.deck_sites import DoubleSite
from tests.test_deck import PASSWORDS, Clock, Person
from tests.test_deck_sync import World, cohort


class Killed(BaseException):
    """The process dies (not an error any code handles)."""


@pytest.fixture
def empty_group(tmp_path: Path) -> Iterator[World]:
    """The boards are shared with the council's group before anyone is in it."""
    yield from deck_world(tmp_path, {"beirat": []})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from deck_world(tmp_path, {"beirat": ["bob", "carol"]})


def deck_world(tmp_path: Path, groups: dict[str, list[str]]) -> Iterator[World]:
    """The Deck double with ``groups``, a store with the cohort of ``test_deck_sync``."""
    clock = Clock()
    with DeckServer(PASSWORDS, groups, "1.13", clock=clock) as srv:
        store = Store.open(tmp_path / "store.db")
        for entity in cohort():
            store.put(entity)
        target = DeckTarget(srv.url, "admin", PASSWORDS["admin"], sleep=lambda _: None)
        yield World(DoubleSite(srv, clock), store, target)
        target.close()
        store.close()


def assignees(card: dict[str, Any]) -> list[str]:
    return sorted(u["participant"]["uid"] for u in card["assignedUsers"])


def card_of(world: World, rule: str, uid: str) -> dict[str, Any]:
    """The card carrying ``uid`` in its footer, linked or not."""
    board = world.board(rule)
    for card in world.srv.state.cards.values():
        stack = world.srv.state.stacks[card.stack_id]
        if stack.board_id == board and card.description.endswith(f"`{uid}`"):
            return Person(world.srv, "admin").card(board, card.id)
    raise AssertionError(f"no card carries {uid}")


def test_an_assignment_deck_refuses_keeps_the_assignee_and_is_retried(
    empty_group: World,
) -> None:
    world = empty_group
    first = world.sync(clean=False)
    problems = first["aufgaben"].problems
    assert problems and all("not part of the board" in p for p in problems), problems
    card = card_of(world, "aufgaben", "task-raum")
    assert assignees(card) == [] and [lb["title"] for lb in card["labels"]] == ["Finanzen"]
    for _ in range(2):  # later passes, the group still empty: the assignee stays
        world.sync(clean=False)
        assert world.entity("task-raum").assignee == "p-bob"
        assert world.entity("task-raum").tags == {"Finanzen"}
    world.srv.state.groups["beirat"] = ["bob", "carol"]  # the group gets its members
    world.clock.tick()
    world.sync()
    assert assignees(card_of(world, "aufgaben", "task-raum")) == ["bob"]
    assert world.entity("task-raum").assignee == "p-bob"
    world.settle()
    assert world.entity("task-raum").assignee == "p-bob"
    assert len([c for c in world.srv.state.cards.values() if "task-raum" in c.description]) == 1


def test_a_card_whose_assignment_keeps_failing_is_linked_and_merges_edits(
    empty_group: World,
) -> None:
    """While Deck keeps refusing the assignee, the card is linked as Deck holds it: a title
    someone changes on the board meanwhile is a plain edit (taken over), not a conflict."""
    world = empty_group
    world.sync(clean=False)  # the create stops at assignUser
    world.sync(clean=False)  # adopted; assignUser refused again; linked as Deck holds it
    assert "task-raum" in world.links("aufgaben")
    assert world.store.journal() == []
    card = card_of(world, "aufgaben", "task-raum")
    Person(world.srv, "admin").edit(world.board("aufgaben"), card["id"], title="Saal buchen")
    world.clock.tick()
    results = world.sync(clean=False)
    assert "conflict" not in results["aufgaben"].counts, results["aufgaben"].summary()
    task = world.entity("task-raum")
    assert (task.title, task.assignee) == ("Saal buchen", "p-bob")
    world.srv.state.groups["beirat"] = ["bob", "carol"]
    world.clock.tick()
    world.settle()
    card = card_of(world, "aufgaben", "task-raum")
    assert (card["title"], assignees(card)) == ("Saal buchen", ["bob"])


def test_a_label_step_failing_with_500_keeps_the_organisation(world: World) -> None:
    """Deck answers 500 to ``assignLabel`` (more often than the client retries): the card
    is there without its label. The pass's next round finds it by its marker and adds the
    label (a create retried within the pass), and nothing canonical changes."""
    world.srv.fail_next("PUT", r"/assignLabel$", 500, times=4)  # outlasts the retries
    first = world.sync(clean=False)
    # The failed step was finished in a later round of the same pass, so no item is left
    # failing (a pass reports only the items still failing at its end).
    assert first["bewerbungen"].problems == [] and not first["bewerbungen"].failures
    assert any("/assignLabel" in path for method, path in world.srv.requests if method == "PUT")
    assert world.entity("p-anna").organisation == "org-greven"
    assert world.entity("p-bernd").organisation == "org-rheine"
    for uid, label in (("app-anna", "Greven"), ("app-bernd", "Rheine")):
        card = card_of(world, "bewerbungen", uid)
        assert [lb["title"] for lb in card["labels"]] == [label], uid
    anna = card_of(world, "bewerbungen", "app-anna")
    assert anna["title"] == "Anna Beispiel (Greven)"
    world.settle()
    assert world.entity("p-anna").organisation == "org-greven"
    apps = [c for c in world.srv.state.cards.values() if "app-anna" in c.description]
    assert len(apps) == 1, "no duplicate card"


def test_a_kill_between_post_and_assign_label_keeps_the_organisation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies right after the card's POST: no label, no link, the journal entry
    left behind. The next pass adopts the card and adds the label; nothing canonical moves."""
    real = deck_cards.CardWriter.apply

    def die(self: deck_cards.CardWriter, card: dict[str, Any], edit: deck_cards.Edit) -> Any:
        if edit.add_labels:
            raise Killed
        return real(self, card, edit)

    monkeypatch.setattr(deck_cards.CardWriter, "apply", die)
    with pytest.raises(Killed):
        world.sync()
    monkeypatch.setattr(deck_cards.CardWriter, "apply", real)
    world.store.close()
    world.store = Store.open(world.store.path)  # the restarted process
    journal = world.store.journal()
    assert [(e.uid, e.op) for e in journal] == [("app-anna", "create")]
    card = card_of(world, "bewerbungen", "app-anna")
    assert card["labels"] == [] and card["title"] == "Anna Beispiel (Greven)"
    world.clock.tick()
    world.sync()
    world.settle()
    assert world.entity("p-anna").organisation == "org-greven"
    card = card_of(world, "bewerbungen", "app-anna")
    assert card["title"] == "Anna Beispiel (Greven)"
    assert [lb["title"] for lb in card["labels"]] == ["Greven"]
    apps = [c for c in world.srv.state.cards.values() if "app-anna" in c.description]
    assert len(apps) == 1, "no duplicate card"
