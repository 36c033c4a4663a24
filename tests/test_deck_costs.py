"""What a Deck pass costs in requests, counted by the Deck double (issue 14), and the
same-second edit that the cost savings must not lose.

Request counts are deterministic, so they are held here; times live in ``bench/``. The
world is the one of :mod:`tests.test_deck_sync`: two rules on two boards of one Nextcloud,
driven by the engine ``connector sync`` wires.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.deck_sites import DOUBLE
from tests.test_deck import Person as Someone
from tests.test_deck_sync import World
from tests.test_deck_sync import bob as bob
from tests.test_deck_sync import site as site
from tests.test_deck_sync import world as world

pytestmark = pytest.mark.parametrize("site", [DOUBLE], indirect=True)


def _board_list_polls(world: World) -> int:
    return sum(
        1 for method, path in world.site.requests() if method == "GET" and path.endswith("/boards")
    )


def test_a_noop_pass_is_one_request_per_target(world: World) -> None:
    """Two rules on one Deck target: the board list is asked once per pass, not per rule."""
    world.settle()
    world.sync()  # the pass after changes may list a board its last listing could not trust
    for _ in range(2):
        world.site.reset_requests()
        results = world.sync()
        assert not any(r.counts for r in results.values())
        assert world.site.requests() == [("GET", "/index.php/apps/deck/api/v1.0/boards")]
        assert sum(r.requests for r in results.values()) == 1


def test_a_pass_with_changes_does_not_sleep(world: World) -> None:
    """Writes are not followed by a one-second wait per changed board."""
    world.sync()
    world.put(world.entity("task-raum").touched(due=date(2026, 3, 12)))
    world.sync()
    assert world.site.sleeps == []


def test_a_council_edit_in_the_second_of_our_write_is_not_missed(
    world: World, bob: Someone
) -> None:
    """The connector writes a card; in that same second (so Deck's ETags cannot tell) bob
    edits the same card and moves the other board's card. The next passes see both."""
    world.settle()
    world.sync()
    world.put(world.entity("task-raum").touched(due=date(2026, 3, 12)))
    results = {r.rule: r for r in world.engine().sync()}  # no tick: bob acts in this second
    assert results["aufgaben"].counts == {"update": 1}
    task = world.card("aufgaben", "task-raum")
    bob.edit(world.board("aufgaben"), task["id"], title="Großen Raum buchen")
    anna = world.card("bewerbungen", "app-anna")
    bob.move(world.board("bewerbungen"), anna["id"], world.stack("bewerbungen", "Ausgewählt"))
    assert world.card("aufgaben", "task-raum")["ETag"] == task["ETag"], "same second, same ETag"
    world.site.tick()
    world.sync()
    world.sync()
    assert world.entity("task-raum").title == "Großen Raum buchen"
    assert world.entity("task-raum").due == date(2026, 3, 12)
    assert world.entity("app-anna").status == "selected"
    world.site.reset_requests()
    assert not any(r.counts for r in world.sync().values())
    assert _board_list_polls(world) == len(world.site.requests()) == 1


def test_a_quiet_pass_reads_each_rules_links_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull's reading of a rule's links serves its apply step too (issue 14: reading and
    parsing 5,000 links twice was part of a quiet pass's client work)."""
    world.settle()
    reads: list[str] = []
    original = type(world.store).links

    def counted(store: Any, rule: str) -> Any:
        reads.append(rule)
        return original(store, rule)

    monkeypatch.setattr(type(world.store), "links", counted)
    results = world.sync()
    assert not any(r.counts for r in results.values())
    assert sorted(reads) == sorted(set(reads)) and len(reads) == len(results)
