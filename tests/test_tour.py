"""The README's tour, command by command, against the local servers of `connector servers`.

A coordinator follows it after the demo: a working folder, the imports in order, the mapping,
`connector servers start` for the platforms (its export lines evaluated as a shell would),
plan, sync, show, a conflict made by a council member on the board and an office's file
(`examples/tour/vorstellung.csv`), its resolution, and a circular (`examples/tour/rundbrief.txt`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.testing.council import CouncilMember
from tests.factories import IMPORT_ORDER

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = str(Path(sys.executable).with_name("connector"))
EXAMPLE = ROOT / "examples" / "muensterland-10"
TOUR = ROOT / "examples" / "tour"


class Shell:
    """The coordinator's shell: an environment that `export` lines change."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str, code: int = 0) -> str:
        done = subprocess.run(
            [CONNECTOR, *args], env=self.env, capture_output=True, text=True, timeout=300, cwd=ROOT
        )
        assert done.returncode == code, f"connector {' '.join(args)}: {done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr
        return done.stdout

    def evaluate(self, exports: str) -> None:
        for line in exports.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            self.env[name] = value


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    work = tmp_path_factory.mktemp("tour") / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "LC_", "LANG"))}
    shell = Shell({**env, "CONNECTOR_CONFIG": str(work / "connector.toml")})
    shell.run("init", str(work))
    yield shell
    shell.run("servers", "stop")


def test_the_tour(shell: Shell) -> None:
    for kind in IMPORT_ORDER:
        if (EXAMPLE / f"{kind}.csv").exists():
            shell.run("import", kind, str(EXAMPLE / f"{kind}.csv"))
    assert "Open conflicts: 0" in shell.run("status")
    assert shell.run("mappings", "check", "mappings/muensterland-mentoring.toml").startswith("ok:")
    shell.run("mappings", "show", "mappings/muensterland-mentoring.toml")

    shell.evaluate(shell.run("servers", "start"))
    assert "CONNECTOR_URL_NEXTCLOUD" in shell.env and "CALDAV_PASSWORD" in shell.env
    assert "Radicale: running" in shell.run("servers", "status")

    planned = shell.run("plan", "--limit", "2")
    assert "bewerbungen → nextcloud / Mentoring 10 – Beirat: 40 create" in planned
    assert "datetime." not in planned
    first = shell.run("sync", "--stats")
    assert "liste-mentees → listen / mentees-10@mentoring.example.org: 18 create" in first
    quiet = shell.run("sync", "--stats")
    assert quiet.count("nothing to do") == 12 and "[1 request]" in quiet
    board = shell.run("show", "bewerbungen")
    assert "    - Till Gövert (Greven)  [Greven]" in board
    assert "Kalender »Mentoring 10 – Fahrplan« (10 Termine)" in shell.run("show", "fahrplan")
    assert "(18 Mitglieder)" in shell.run("show", "liste-mentees")

    # The conflict: the council declines Till Gövert on the board; the office says presented.
    servers = Path(shell.env["CONNECTOR_CONFIG"]).parent / "servers"
    member = CouncilMember.of(servers)
    assert member.move("Mentoring 10 – Beirat", "Till Gövert (Greven)", "Abgelehnt") == (
        "Bewerbungen"
    )
    imported = shell.run("import", "applications", str(TOUR / "vorstellung.csv"))
    assert "application: 0 created, 1 updated, 0 unchanged" in imported
    planned = shell.run("plan")
    assert "Till Gövert (Greven) – application [app-" in planned
    assert "CONFLICT stack: here 'Vorgestellt' vs there 'Abgelehnt'" in planned
    assert "1 conflict(s) wait for a person" in shell.run("sync", code=7)
    listed = shell.run("conflicts")
    assert listed.startswith("#1 [open] mim-10:bewerbungen Till Gövert (Greven) – application")
    shown = shell.run("conflicts", "show", "1")
    assert "record:        Till Gövert (Greven) – application [app-" in shown
    assert "+00:00" not in shown
    shell.run("conflicts", "resolve", "1", "--take", "remote")
    assert "bewerbungen → nextcloud / Mentoring 10 – Beirat: 1 update" in shell.run("sync")
    till = json.loads(shell.run("record", "till.goevert@greven.example", "--json"))
    assert till["label"] == "Till Gövert (Greven)" and till["open_conflicts"] == []
    assert shell.run("sync").count("nothing to do") == 12

    preview = shell.run(
        "announce", "mentees-10@mentoring.example.org",
        "--subject", "Startworkshop am 22. Januar",
        "--body-file", str(TOUR / "rundbrief.txt"),
        "--sender", "beirat-10@mentoring.example.org",
    )  # fmt: skip
    assert preview.startswith("PREVIEW: nothing was sent")
    assert "To: mentees-10@mentoring.example.org (18 members with delivery on)" in preview
    assert "der Startworkshop beginnt am 22. Januar um 9 Uhr im stiwl." in preview
