"""Shared fixtures: a fresh store, the bundled examples, the installed `connector` command,
and a tiny cohort to check rules against."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sync.model import (
    Application,
    ApplicationStatus,
    Cohort,
    Organisation,
    OrganisationKind,
    Person,
    Programme,
    ProgrammeKind,
    Role,
)
from sync.store import Store
from tests.factories import IMPORT_ORDER
from tests.requests_wire import requests_wire  # noqa: F401  (a fixture)

STADT = OrganisationKind.STADT
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a temporary folder."""
    with Store.open(tmp_path / "cohort.db") as opened:
        yield opened


@pytest.fixture
def examples() -> Path:
    """The folder of bundled example cohorts."""
    return EXAMPLES


def example_files(folder: Path) -> list[tuple[str, Path]]:
    """(kind, file) of an example folder, in import order, skipping kinds it lacks."""
    return [(k, folder / f"{k}.csv") for k in IMPORT_ORDER if (folder / f"{k}.csv").exists()]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    """Write a CSV file the way an office would (Excel: ``;`` and cp1252)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run_connector(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `connector` entry point of this virtualenv (``env`` adds variables)."""
    command = Path(sys.executable).parent / "connector"
    return subprocess.run(
        [str(command), *args],
        cwd=cwd,
        env=os.environ | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def cohort_store(store: Store) -> Store:
    """Greven and Rheine, a programme and cohort, mentee Anna Beispiel (Greven, selected),
    mentors Bernd Muster (Greven) and Carla Probe (Rheine), council member Dora Rat."""
    for uid, short in (("org-greven", "Greven"), ("org-rheine", "Rheine")):
        store.put(Organisation(uid=uid, name=f"Stadt {short}", short_name=short, org_kind=STADT))
    store.put(Programme(uid="mim", name="Mentoring", programme_kind=ProgrammeKind.MENTORING))
    people = [
        ("p-anna", "Anna", "Beispiel", "org-greven", {Role.MENTEE}),
        ("p-bernd", "Bernd", "Muster", "org-greven", {Role.MENTOR}),
        ("p-carla", "Carla", "Probe", "org-rheine", {Role.MENTOR}),
        ("p-dora", "Dora", "Rat", "org-rheine", {Role.COUNCIL}),
    ]
    for uid, given, family, org, roles in people:
        email = f"{given.lower()}.{family.lower()}@example.org"
        store.put(
            Person(
                uid=uid,
                given_name=given,
                family_name=family,
                email=email,
                organisation=org,
                roles=roles,
                cohorts={"mim-10"},
            )
        )
    store.put(
        Cohort(
            uid="mim-10",
            programme="mim",
            number=10,
            title="Durchgang 10",
            period_start=date(2025, 3, 1),
            period_end=date(2026, 12, 31),
            reveal_on=date(2026, 1, 22),
            organisations=["org-greven", "org-rheine"],
            council=["p-dora"],
        )
    )
    store.put(
        Application(
            uid="app-anna",
            cohort="mim-10",
            applicant="p-anna",
            status=ApplicationStatus.SELECTED,
        )
    )
    return store


# -- the real Nextcloud (connector.testing.nextcloud_server) ----------------------------------

REAL_MARK = "real_nextcloud"
_not_run: list[str] = []
_not_run_reason: list[str] = []


@pytest.fixture(scope="session")
def nextcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Nextcloud 29 + Deck 1.13 for this test session (fresh data, shared by tests).

    Without the distribution the tests that use it are skipped, or fail with ``CI=true``;
    a distribution that is present but does not come up always fails.
    """
    from connector.testing.nextcloud_server import nextcloud_server

    council = prepared_council()
    with nextcloud_server(tmp_path_factory.mktemp("nextcloud"), council) as instance:
        yield instance


def prepared_council() -> Any:
    """The example council with the Nextcloud distribution prepared for it. Without the
    distribution the calling test is skipped and reported as NOT RUN, or fails with
    ``CI=true``."""
    from connector.testing.nextcloud_dist import NextcloudMissing
    from connector.testing.nextcloud_server import example_council, prepare

    council = example_council()
    try:
        prepare(council)
    except NextcloudMissing as missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real Nextcloud is missing: {missing}", pytrace=False)
        _not_run_reason[:] = [str(missing)]
        pytest.skip(f"real Nextcloud not available: {missing}")
    return council


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember real-Nextcloud tests that were skipped: they must never look passed."""
    if report.skipped and REAL_MARK in report.keywords and report.nodeid not in _not_run:
        _not_run.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """End with how many real-Nextcloud tests did not run (also for scripts/test.sh)."""
    note = ROOT / ".cache" / "not-run.txt"
    note.parent.mkdir(parents=True, exist_ok=True)
    if not _not_run:
        note.unlink(missing_ok=True)
        return
    # The reason names what to set (NextcloudMissing says it); only without one is it added.
    reason = (
        _not_run_reason[0]
        if _not_run_reason
        else ("set NEXTCLOUD_DIST=/path/to/nextcloud-29.0.6-deck-1.13.10-appapi-3.2.3.tar.xz")
    )
    line = f"NOT RUN: {len(_not_run)} real-Nextcloud tests ({reason})"
    terminalreporter.write_line(line, yellow=True, bold=True)
    note.write_text(line + "\n")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{REAL_MARK}: needs the real Nextcloud 29 + Deck 1.13 (nextcloud_server)"
    )
