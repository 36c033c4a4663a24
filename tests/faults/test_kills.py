"""SIGKILL real `connector sync` and `connector import` processes at 30 seeded moments, most
of them between a journalled remote write and its commit; then clean passes must converge:
nothing lost, no duplicate, an empty journal.

The moment is set with ``CONNECTOR_CRASH_AT`` (:mod:`sync.crashpoint`): ``journal:N`` kills
the process once its Nth journalled write has been sent, as the commit that would settle it
begins; ``put:N`` kills an import at its Nth row. ``FAULTS_SEED`` replays a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sync.crashpoint import VARIABLE
from sync.store import Store
from tests.faults.world import Servers, World, direct_urls

SEED = int(os.environ.get("FAULTS_SEED", "20261201"))
MOMENTS, IMPORTS, IN_WINDOW = 30, 8, 20
CONNECTOR = str(Path(sys.executable).with_name("connector"))
ORGANISATIONS = 12


def connector(
    world: World, *args: str, crash: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **world.servers.env(), "CONNECTOR_CONFIG": str(world.direct)}
    env.pop(VARIABLE, None)
    env.pop("CONNECTOR_STORE", None)
    if crash is not None:
        env[VARIABLE] = crash
    return subprocess.run([CONNECTOR, *args], env=env, capture_output=True, text=True, timeout=120)


def organisations_csv(folder: Path, version: int) -> Path:
    path = folder / f"organisations-{version}.csv"
    rows = [f"Ort{i};Stadt Ort{i} ({version});Stadt" for i in range(ORGANISATIONS)]
    path.write_text("Kurzname;Name;Art\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def organisation_names(world: World) -> set[str]:
    with Store.open(world.store_path, create=False) as store:
        return {
            str(getattr(o, "name", ""))
            for o in store.entities("organisation")
            if str(getattr(o, "short_name", "")).startswith("Ort")
        }


def test_sigkill_at_thirty_moments_then_clean_passes_converge(
    servers: Servers, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(SEED)
    world = World(tmp_path, "k", servers, direct_urls(servers))
    request.addfinalizer(world.close)
    first = connector(world, "sync")
    assert first.returncode == 0, first.stdout + first.stderr
    moments = ["import"] * IMPORTS + ["sync"] * (MOMENTS - IMPORTS)
    rng.shuffle(moments)
    killed_in_window = killed_imports = 0
    imported = 0
    for number, kind in enumerate(moments):
        if kind == "import":
            before = organisation_names(world)
            imported += 1
            crash = f"put:{rng.randint(1, ORGANISATIONS)}"
            done = connector(
                world, "import", "organisations", str(organisations_csv(tmp_path, imported)),
                crash=crash,
            )  # fmt: skip
            assert done.returncode == -signal.SIGKILL, (number, crash, done.stderr)
            killed_imports += 1
            # The import is one transaction: all of it or nothing, never half.
            assert organisation_names(world) == before, (number, crash)
            continue
        world.random_edits(rng)
        world.random_edits(rng)
        crash = f"journal:{rng.randint(1, 2)}"
        done = connector(world, "sync", crash=crash)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode == -signal.SIGKILL:
            killed_in_window += 1
            # It died with the write sent and not committed: the journal holds the entry.
            with Store.open(world.store_path, create=False) as store:
                assert store.journal(), (number, crash)
        else:  # fewer journalled writes than the chosen N: the pass went through
            assert done.returncode in (0, 8, 9), (number, crash, done.stdout, done.stderr)
    assert killed_in_window >= IN_WINDOW, killed_in_window
    assert killed_imports == IMPORTS

    for _ in range(3):
        done = connector(world, "sync")
        if done.returncode == 0 and "0 change(s)" in done.stdout:
            break
    assert done.returncode == 0, done.stdout + done.stderr
    assert world.leftovers() == {"aufgaben": set(), "termine": set(), "liste": set()}
    world.assert_converged()
    last = connector(world, "import", "organisations", str(organisations_csv(tmp_path, 99)))
    assert last.returncode == 0, last.stderr
    assert organisation_names(world) == {f"Stadt Ort{i} (99)" for i in range(ORGANISATIONS)}
    print(f"killed between write and commit: {killed_in_window}; imports killed: {killed_imports}")
