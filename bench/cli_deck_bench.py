"""Benchmark: the initial ``connector sync`` of the example cohort onto a real Nextcloud Deck.

The store is the example cohort (``examples/muensterland-10`` imported in the README's order,
as ``scripts/demo.sh`` does); the mapping is the shipped one restricted to its Deck target
and rules (``bewerbungen``, ``beirat-aufgaben``, ``tandems``). Every run gets a fresh
Nextcloud 29 + Deck 1.13 (``connector.testing.nextcloud_server``: the installed template's
data and SQLite database copied into a new folder, a new ``php -S``) and a fresh copy of the
imported store, so each run is a true initial sync onto boards that do not exist yet. Before
the timed command, a few untimed ``GET /boards`` warm the PHP workers and create admin's
"Personal" board (what any running Nextcloud has long done).

Timed: ``connector sync --stats`` as a fresh process (start-up, store, mapping, plan,
apply, settle rounds: what a user waits for). The floor, "the time its requests take on the
server", is measured in the same run: with ``CONNECTOR_TIMINGS`` the connector's HTTP client
records every round-trip's duration (:mod:`connector.timings`), and the floor is their sum.
That is honest, and if anything generous to the connector: it is the server's time plus
loopback and the ``requests`` library's own work per request, exactly what a replay of the
same requests with a plain keep-alive ``requests.Session`` would cost, without the noise of
a second server state. The floor and the command come from the same run, so there is
nothing to alternate. Prints median and min–max of both, the request count and the ratio of
the medians against the target ≤ 1.3.

Run from the project root: ``.venv/bin/python bench/cli_deck_bench.py [--repeat R] [--json F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from connector.testing.nextcloud_server import NextcloudInstance, example_council, nextcloud_server

#: A user's Python keeps compiled modules (``__pycache__``); an environment that sets
#: PYTHONDONTWRITEBYTECODE (this sandbox does) would make every timed process compile the
#: project's sources again, while the peer's installed packages have theirs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = Path(os.environ.get("BENCH_CONNECTOR") or ROOT / ".venv" / "bin" / "connector")
EXAMPLE = ROOT / "examples" / "muensterland-10"
MAPPING = ROOT / "mappings" / "muensterland-mentoring.toml"
IMPORT_ORDER = (
    "organisations", "programmes", "people", "cohorts", "applications", "tandems", "events",
    "tasks",
)  # fmt: skip
TARGET = 1.3
SHIPPED_DECK_URL = "http://127.0.0.1:8081"


def run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def deck_only(text: str) -> str:
    """The shipped mapping with only its Deck target and Deck rules."""
    head, _, rest = text.partition("[targets.kalender]")
    _, _, rules = rest.partition("# --- Beirat: Bewerbungen")
    deck_rules, found, _ = rules.partition("# --- Kalender")
    if not found or "[targets.nextcloud]" not in head:
        raise RuntimeError(f"{MAPPING}: its sections moved; update deck_only()")
    return f"{head}# --- Beirat: Bewerbungen{deck_rules}"


def prepare(work: Path) -> Path:
    """An imported example store and the Deck-only mapping (untimed); the store's path."""
    env = {**os.environ, "CONNECTOR_CONFIG": str(work / "connector.toml")}
    run([str(CONNECTOR), "init", str(work)], env)
    for kind in IMPORT_ORDER:
        run([str(CONNECTOR), "import", kind, str(EXAMPLE / f"{kind}.csv")], env)
    (work / "mapping.toml").write_text(deck_only(MAPPING.read_text("utf-8")), encoding="utf-8")
    pristine = work.parent / "cohort-imported.db"
    shutil.copy2(work / "cohort.db", pristine)
    return pristine


def warm(nc: NextcloudInstance) -> None:
    session = requests.Session()
    session.auth = ("admin", nc.app_passwords["admin"])
    session.headers.update({"OCS-APIRequest": "true", "Accept": "application/json"})
    for _ in range(4):
        session.get(f"{nc.url}/index.php/apps/deck/api/v1.0/boards", timeout=60).raise_for_status()


def one_run(work: Path, pristine: Path, home: Path, council: list[str]) -> dict[str, Any]:
    """A fresh Nextcloud and store, one timed initial sync; its figures."""
    shutil.copy2(pristine, work / "cohort.db")
    for suffix in ("-wal", "-shm"):
        (work / f"cohort.db{suffix}").unlink(missing_ok=True)
    with nextcloud_server(home, council) as nc:
        mapping = work / "mapping.toml"
        text = re.sub(r'url = "http://127\.0\.0\.1:\d+"', f'url = "{nc.url}"', mapping.read_text())
        mapping.write_text(text, encoding="utf-8")
        warm(nc)
        timings = work / "timings.jsonl"
        timings.unlink(missing_ok=True)
        env = {
            **os.environ,
            "DECK_APP_PASSWORD": nc.app_passwords["admin"],
            "CONNECTOR_CONFIG": str(work / "connector.toml"),
            "CONNECTOR_TIMINGS": str(timings),
        }
        started = time.perf_counter()
        out = run([str(CONNECTOR), "sync", "--stats"], env)
        wall = time.perf_counter() - started
    if "bewerbungen → nextcloud / Mentoring 10 – Beirat: 40 create" not in out:
        raise RuntimeError(f"the initial sync did not create the 40 application cards:\n{out}")
    trips = [json.loads(line) for line in timings.read_text().splitlines()]
    return {
        "wall": wall,
        "floor": sum(t["seconds"] for t in trips),
        "requests": len(trips),
        "by_method": _by_method(trips),
        "output": out,
    }


def _by_method(trips: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trip in trips:
        counts[trip["method"]] = counts.get(trip["method"], 0) + 1
    return dict(sorted(counts.items()))


def figures(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    council = example_council()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        pristine = prepare(work)
        for index in range(args.repeat):
            runs.append(one_run(work, pristine, Path(tmp) / f"nextcloud-{index}", council))
            last = runs[-1]
            print(
                f"run {index + 1}: connector sync {last['wall'] * 1000:.0f} ms, "
                f"{last['requests']} requests taking {last['floor'] * 1000:.0f} ms",
                flush=True,
            )
    counts = {r["requests"] for r in runs}
    wall, floor = figures([r["wall"] for r in runs]), figures([r["floor"] for r in runs])
    ratio = wall["median"] / floor["median"]
    own = figures([r["wall"] - r["floor"] for r in runs])
    row = {
        "runs": len(runs),
        "connector": wall,
        "floor": floor,
        "requests": sorted(counts),
        "by_method": runs[-1]["by_method"],
        "client_own": own,
        "ratio": ratio,
        "target": TARGET,
        "met": ratio <= TARGET,
    }
    print(
        f"\nDeck initial sync, example cohort, {len(runs)} runs (fresh Nextcloud each):\n"
        f"  connector sync --stats   {wall['median']:.0f} ms ({wall['min']:.0f}–"
        f"{wall['max']:.0f})\n"
        f"  floor: its round-trips   {floor['median']:.0f} ms ({floor['min']:.0f}–"
        f"{floor['max']:.0f}), {'/'.join(map(str, sorted(counts)))} requests "
        f"{json.dumps(row['by_method'])}\n"
        f"  the client's own time (wall − round-trips): {own['median']:.0f} ms "
        f"({own['min']:.0f}–{own['max']:.0f})\n"
        f"  ratio {ratio:.2f}, target ≤ {TARGET}: {'met' if row['met'] else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps(row, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
