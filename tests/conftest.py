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
