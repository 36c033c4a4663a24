"""A pass that only adopts records already on the platform (links them, changes nothing)
says so: "3 adopt", not "nothing to do" — the store gained a link for each."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.memory import MemoryTarget
from sync.report import pass_line, summary_lines
from sync.store import Store
from tests.test_engine import REVEAL, sync, task_mapping, tasks


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


def _links(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM links").fetchone()[0])


def test_a_pass_that_only_adopts_counts_the_adoptions(tmp_path: Path) -> None:
    mapping = task_mapping()
    with Store.open(tmp_path / "first.db") as store:
        tasks(store, 3)
        [made] = sync(store, mapping, REVEAL)
        assert made.counts == {"create": 3}
    # Another store with the same tasks (one restored from before the pass, say): the cards
    # on the board carry their markers and the same fields, so they are adopted, unchanged.
    with Store.open(tmp_path / "second.db") as store:
        tasks(store, 3)
        [adopted] = sync(store, mapping, REVEAL)
        assert adopted.counts == {"adopt": 3}
        assert _links(store) == 3
        assert len(MemoryTarget("memory://board").records("Aufgaben")) == 3
        [line] = summary_lines([adopted])
        assert line.endswith(": 3 adopt"), line
        assert "3 change(s)" in pass_line([adopted], "10:00", 60)
        # Linked now: the next pass has nothing to do.
        [quiet] = sync(store, mapping, REVEAL)
        assert quiet.counts == {} and summary_lines([quiet])[0].endswith(": nothing to do")


def test_the_adoptions_read_in_german_under_a_german_locale() -> None:
    code = "from sync.report import _counts_text; print(_counts_text({'adopt': 3}))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=os.environ | {"LANG": "de_DE.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "3 übernehmen"
