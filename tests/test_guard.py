"""Issue 10, finding 4: deletions the connector plans itself count towards the guard.

Replays the scenario with the shipped mapping on memory targets and the bundled example
cohort, through the real CLI: a typo in the mapping's cohort (``mim-1O``) must not delete the
69 cards and 23 events; the pass stops with exit 6 and says why, and after the typo is fixed
the next pass has nothing to restore or tombstone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.memory import MemoryTarget
from sync.store import Store
from tests.shipped import import_example, write_shipped
from tests.test_cli_sync import invoke

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]
"""

BOARDS = ("Mentoring 10 – Beirat", "Mentoring 10 – Aufgaben", "Mentoring 10 – Tandems")
CALENDARS = ("mim-10-fahrplan", "mim-10-beirat")


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    write_shipped(tmp_path / "mapping.toml")
    with Store.open(tmp_path / "cohort.db") as store:
        import_example(store)
    return tmp_path


def counts() -> dict[str, int]:
    deck, calendar = MemoryTarget("memory://nextcloud"), MemoryTarget("memory://kalender")
    found = {board: len(deck.records(board)) for board in BOARDS}
    found.update({cal: len(calendar.records(cal)) for cal in CALENDARS})
    return found


def test_a_cohort_typo_deletes_nothing_and_stops_with_exit_6(work: Path) -> None:
    config = str(work / "connector.toml")
    first = invoke("--config", config, "sync", "--today", "2026-02-01")
    assert first.exit_code == 0, first.output
    before = counts()
    assert sum(before[b] for b in BOARDS) == 69 and sum(before[c] for c in CALENDARS) == 23

    write_shipped(work / "mapping.toml", cohort="mim-1O")
    typo = invoke("--config", config, "sync", "--today", "2026-02-01")
    assert typo.exit_code == 6, typo.output
    assert counts() == before, "the typo deleted records"
    assert "bewerbungen" in typo.output and "scope" in typo.output, typo.output
    assert "mim-1O" in typo.output, typo.output

    write_shipped(work / "mapping.toml")
    fixed = invoke("--config", config, "sync", "--today", "2026-02-01")
    assert fixed.exit_code == 0, fixed.output
    assert counts() == before
    with Store.open(work / "cohort.db") as store:
        assert len(store.entities("task")) == 11


def test_a_filter_that_drops_most_links_stops_with_exit_6(work: Path) -> None:
    config = str(work / "connector.toml")
    assert invoke("--config", config, "sync", "--today", "2026-02-01").exit_code == 0
    before = counts()
    text = (work / "mapping.toml").read_text(encoding="utf-8")
    # A slip in the Fahrplan's filter: a valid event kind, but not one of the Fahrplan's.
    slipped = re.sub(r"event_kind = \[[^\]]*\]", 'event_kind = ["council_meeting"]', text)
    assert slipped != text
    (work / "mapping.toml").write_text(slipped, encoding="utf-8")
    stopped = invoke("--config", config, "sync", "--today", "2026-02-01")
    assert stopped.exit_code == 6, stopped.output
    assert "fahrplan" in stopped.output and "scope" in stopped.output, stopped.output
    assert counts() == before


def test_mappings_check_warns_about_a_rule_that_matches_nothing_in_the_store(work: Path) -> None:
    write_shipped(work / "mapping.toml", cohort="mim-1O")
    checked = invoke(
        "--config", str(work / "connector.toml"), "mappings", "check", str(work / "mapping.toml")
    )
    assert checked.exit_code == 0, checked.output
    assert "warning" in checked.output and "bewerbungen" in checked.output, checked.output
    assert "matches nothing" in checked.output, checked.output

    write_shipped(work / "mapping.toml")
    clean = invoke(
        "--config", str(work / "connector.toml"), "mappings", "check", str(work / "mapping.toml")
    )
    assert clean.exit_code == 0 and "matches nothing" not in clean.output, clean.output
