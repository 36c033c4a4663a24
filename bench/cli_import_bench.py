"""Benchmark: ``connector import people`` again, once N people have N applications, against the
first import of the same file (issue 14: ≤ 1.5×).

A base store holds the example cohort's organisations, programme, cohort and people. Per
repeat (``--repeat``, at least 7), on a fresh copy of it, as fresh processes the way a user runs
them: ``connector import people`` of N new mentees (timed: the first import), ``connector
import applications`` of one application each (untimed), and ``connector import people`` of
the same file again (timed: the re-import, which changes nothing but checks every row against
the applications). Prints median and min–max of both and the ratio. Run from the project root:
``.venv/bin/python bench/cli_import_bench.py [--people N] [--repeat R] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A user's Python keeps compiled modules (``__pycache__``); an environment that sets
#: PYTHONDONTWRITEBYTECODE (this sandbox does) would make every timed process compile the
#: project's sources again, while the peer's installed packages have theirs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = Path(os.environ.get("BENCH_CONNECTOR") or ROOT / ".venv" / "bin" / "connector")
EXAMPLE = ROOT / "examples" / "muensterland-10"
TOWNS = ["Ahlen", "Borken", "Dülmen", "Emsdetten", "Greven", "Gronau", "Münster", "Rheine"]
PEOPLE_HEADER = ["Vorname", "Nachname", "E-Mail", "Kommune", "Rollen", "Durchgang", "Funktion"]
PEOPLE_HEADER += ["Einwilligung Profil"]
APPLICATION_HEADER = ["cohort", "applicant", "status", "received_on", "position", "department"]


def connector(store: Path, *args: str) -> float:
    """Run ``connector --store STORE ARGS`` (it must succeed); its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(CONNECTOR), "--store", str(store), *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"LANG": "C.UTF-8", "LANGUAGE": ""},
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"connector {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def write_files(folder: Path, people: int) -> tuple[Path, Path]:
    """N new mentees of the example cohort (semicolon, Windows-1252, as an office exports
    them) and one application each."""
    persons = folder / "people.csv"
    with persons.open("w", encoding="cp1252", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(PEOPLE_HEADER)
        for i in range(people):
            town = TOWNS[i % len(TOWNS)]
            email = f"person{i}@bench.example"
            writer.writerow(
                [f"Jörg{i}", f"Schäfer{i}", email, town, "Mentee", "mim-10", "SB", "ja"]
            )
    applications = folder / "applications.csv"
    with applications.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(APPLICATION_HEADER)
        for i in range(people):
            email = f"person{i}@bench.example"
            writer.writerow(["mim-10", email, "received", "2025-06-08", "Sachbearbeitung", "Amt"])
    return persons, applications


def base_store(folder: Path) -> Path:
    store = folder / "base.db"
    for kind in ("organisations", "programmes", "people", "cohorts"):
        connector(store, "import", kind, str(EXAMPLE / f"{kind}.csv"))
    return store


def figures(times: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in times]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    repeat = max(7, args.repeat)
    first: list[float] = []
    again: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        persons, applications = write_files(folder, args.people)
        base = base_store(folder)
        for number in range(repeat):
            store = folder / f"run-{number}.db"
            shutil.copyfile(base, store)
            first.append(connector(store, "import", "people", str(persons)))
            connector(store, "import", "applications", str(applications))
            again.append(connector(store, "import", "people", str(persons)))
            store.unlink()
    row = {"people": args.people, "first import": figures(first), "re-import": figures(again)}
    ratio = row["re-import"]["median"] / row["first import"]["median"]
    row["ratio"] = ratio
    for name in ("first import", "re-import"):
        f = row[name]
        assert isinstance(f, dict)
        print(f"{name:<13} {f['median']:.0f} ms ({f['min']:.0f}–{f['max']:.0f})")
    print(
        f"{args.people:,} people with as many applications, {repeat} runs: ratio {ratio:.2f}; "
        "target ≤ 1.5"
    )
    if args.json:
        args.json.write_text(json.dumps(row, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
