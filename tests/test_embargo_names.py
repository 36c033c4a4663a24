"""Issue 10, finding 6: the embargo covers anything naming both partners, not only ``tandem``.

The shipped mapping on memory targets with the bundled example cohort (revealed on
2026-01-22). Events with no tandem reference that name both partners of a tandem — by full
name or address, in any field the Fahrplan renders, whatever the case or the spelling of the
umlauts — stay off the participants' calendar until the reveal date, and the pass reports
how many it withheld. Council targets still get them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.config import Config
from sync.engine import Options, RuleResult
from sync.factory import build_engine
from sync.model import BERLIN, Event
from sync.runner import load_mappings
from sync.store import Store
from tests.shipped import import_example, write_shipped

BEFORE, REVEAL = date(2026, 1, 10), date(2026, 1, 22)
FAHRPLAN, BEIRAT = "mim-10-fahrplan", "mim-10-beirat"

#: uid → (title, location, description, audience); Mareike Böckenholt and Hanna Vorspohl are
#: tandem mim-10-t01. Timo Böckenholt and Arne Vorspohl exist too, but are no pair.
EVENTS = {
    "ev-hospitation": ("Hospitation Mareike Böckenholt bei Hanna Vorspohl", "", "", "participants"),
    "ev-address": (
        "Austausch",
        "",
        "mit mareike.boeckenholt@buende.example und HANNA VORSPOHL",
        "participants",
    ),
    "ev-spelling": ("Kamingespräch", "bei Mareike Boeckenholt (Hanna Vorspohl)", "", "mentors"),
    "ev-council": ("Hospitation Mareike Böckenholt bei Hanna Vorspohl", "", "", "council"),
    "ev-one": ("Vortrag Hanna Vorspohl", "", "", "participants"),
    "ev-namesakes": ("Timo Böckenholt und Arne Vorspohl berichten", "", "", "participants"),
}
WITHHELD = {"ev-hospitation", "ev-address", "ev-spelling"}


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
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
        for day, (uid, (title, location, description, audience)) in enumerate(EVENTS.items()):
            start = datetime(2026, 2, 2 + day, 16, tzinfo=BERLIN)
            opened.put(
                Event(
                    uid=uid,
                    cohort="mim-10",
                    event_kind="networking_meeting",
                    title=title,
                    start=start,
                    end=start.replace(hour=18),
                    location=location,
                    description=description,
                    audience={audience},
                )
            )
        yield opened


def sync(store: Store, mapping: MappingFile, today: date) -> dict[str, RuleResult]:
    targets = {name: MemoryTarget(spec.url) for name, spec in mapping.targets.items()}
    results = build_engine(store, mapping, dict(targets), Options(today=today)).sync()
    assert all(r.error is None for r in results), [str(r.error) for r in results]
    return {r.rule: r for r in results}


def markers(calendar: str) -> set[str]:
    return {r.marker or "" for r in MemoryTarget("memory://kalender").records(calendar).values()}


def test_events_naming_both_partners_wait_for_the_reveal_date(
    store: Store, mapping: MappingFile
) -> None:
    results = sync(store, mapping, BEFORE)
    on_fahrplan = markers(FAHRPLAN)
    assert not on_fahrplan & WITHHELD, on_fahrplan & WITHHELD
    assert {"ev-one", "ev-namesakes"} <= on_fahrplan
    assert "ev-council" in markers(BEIRAT)
    assert results["fahrplan"].summary()["withheld"] == len(WITHHELD)
    assert results["beirat-termine"].summary()["withheld"] == 0

    results = sync(store, mapping, REVEAL)
    assert markers(FAHRPLAN) >= WITHHELD
    assert results["fahrplan"].summary()["withheld"] == 0


def test_an_event_renamed_to_name_both_partners_leaves_the_calendar(
    store: Store, mapping: MappingFile
) -> None:
    sync(store, mapping, BEFORE)
    assert "ev-one" in markers(FAHRPLAN)
    event = store.get("ev-one")
    assert isinstance(event, Event)
    store.put(event.touched(description="Mit ihrer Mentee Mareike Böckenholt"))
    results = sync(store, mapping, BEFORE)
    assert "ev-one" not in markers(FAHRPLAN)
    assert results["fahrplan"].summary()["withheld"] == len(WITHHELD) + 1


def test_the_pass_reports_what_it_withheld(store: Store, mapping: MappingFile) -> None:
    from sync.report import summary_lines

    results = sync(store, mapping, BEFORE)
    lines = summary_lines(list(results.values()))
    assert (
        "  withheld: 3 record(s) naming both partners of a tandem stay off kalender "
        "until the reveal date"
    ) in lines, lines


def test_a_short_attendee_list_naming_both_partners_names_the_pair() -> None:
    from sync.catalog import Catalog
    from sync.scope import Pair, names_a_pair, secret_pairs

    with Store.open(":memory:") as memory:
        import_example(memory)
        catalog = Catalog.load(memory)
    pairs: list[Pair] = secret_pairs(catalog, BEFORE)
    assert len(pairs) == 18
    assert secret_pairs(catalog, REVEAL) == []
    pair = ["Mareike.Boeckenholt@buende.example", "hanna.vorspohl@steinfurt.example"]
    assert names_a_pair([set(pair)], pairs) == "mim-10-t01"
    assert names_a_pair([{*pair, "a@x.example", "b@x.example"}], pairs) is None  # a group list
    assert names_a_pair(["Hospitation", "MAREIKE BÖCKENHOLT", "Hanna  Vorspohl"], pairs)
    assert names_a_pair(["Johanna Vorspohl trifft Mareike Böckenholt"], pairs) is None
