"""The line a run ends with when real-Nextcloud tests did not run (README: "the output ends
with a line like `NOT RUN: 60 real-Nextcloud tests (…)`"): counted, with the reason once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.testing.nextcloud_dist import DIST_NAME, NextcloudMissing
from tests import conftest


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str, **_markup: Any) -> None:
        self.lines.append(line)


def test_the_not_run_line_counts_the_tests_and_names_the_reason_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = NextcloudMissing(f"no {DIST_NAME} (set NEXTCLOUD_DIST=/path/to/{DIST_NAME})")
    monkeypatch.setattr(conftest, "ROOT", tmp_path)
    monkeypatch.setattr(conftest, "_not_run", ["tests/a.py::one", "tests/b.py::two"])
    monkeypatch.setattr(conftest, "_not_run_reason", [str(missing)])
    reporter = Reporter()
    conftest.pytest_terminal_summary(reporter)
    expected = f"NOT RUN: 2 real-Nextcloud tests ({missing})"
    assert reporter.lines == [expected]
    assert expected.count("set NEXTCLOUD_DIST") == 1
    # scripts/test.sh prints the same line at the very end, from this note.
    assert (tmp_path / ".cache" / "not-run.txt").read_text() == expected + "\n"
