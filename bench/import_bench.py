"""Import benchmark: 10,000 people (and their organisations) through the same code path as
`connector import`, into a fresh store.

Run: ``.venv/bin/python bench/import_bench.py [--people N]``. Prints rows/s, wall time and
peak memory (tracemalloc's peak of Python allocations, and the process's ru_maxrss), for the
first import and for a re-import of the same file (which must change nothing).
Target on a 2-core machine: under 5 s and under 200 MB for 10,000 people.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.importer import ImportReport, import_file
from sync.store import Store

TOWNS = ["Ahlen", "Borken", "Bünde", "Dülmen", "Emsdetten", "Greven", "Gronau", "Münster"]
TOWNS += ["Rheine", "Steinfurt", "Ascheberg", "Laer", "Neuenkirchen", "Ostbevern"]
HEADER = ["Vorname", "Nachname", "E-Mail", "Kommune", "Rollen", "Durchgang", "Funktion"]
HEADER += ["Einwilligung Profil"]


def write_files(folder: Path, people: int) -> tuple[Path, Path]:
    """An organisations file and a semicolon/cp1252 people file as an office exports them."""
    orgs = folder / "organisations.csv"
    with orgs.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Kurzname", "Name", "Art"])
        writer.writerows([town, f"Stadt {town}", "Stadt"] for town in TOWNS)
    persons = folder / "people.csv"
    with persons.open("w", encoding="cp1252", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(people):
            town = TOWNS[i % len(TOWNS)]
            role = "Mentor" if i % 7 == 0 else ""
            writer.writerow(
                [
                    f"Jörg{i}",
                    f"Schäfer{i}",
                    f"person{i}@example.org",
                    town,
                    role,
                    "mim-10" if role else "",
                    "Teamleitung",
                    "ja",
                ]
            )
    return orgs, persons


def timed(store: Store, kind: str, path: Path) -> tuple[ImportReport, float]:
    started = time.perf_counter()
    report = import_file(store, kind, path)
    return report, time.perf_counter() - started


def measure(people: int, *, trace: bool) -> tuple[list[tuple[str, ImportReport, float]], int]:
    """Import into a fresh store, then import again: [(label, report, seconds)], and the
    tracemalloc peak in bytes when ``trace`` (tracing slows Python down, so timings come from
    a run without it)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        orgs, persons = write_files(folder, people)
        if trace:
            tracemalloc.start()
        with Store.open(folder / "cohort.db") as store:
            import_file(store, "organisations", orgs)
            runs = [(label, *timed(store, "people", persons)) for label in ("import", "re-import")]
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
    return runs, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    runs, _ = measure(args.people, trace=False)
    _, peak = measure(args.people, trace=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"people.csv: {args.people} rows, semicolon-separated Windows-1252")
    for label, report, seconds in runs:
        outcome = report.outcomes["person"]
        print(
            f"{label:>9}: {seconds:5.2f} s wall, {args.people / seconds:6.0f} rows/s "
            f"({outcome.created} created, {outcome.updated} updated, {outcome.unchanged} unchanged)"
        )
    print(f"peak memory: tracemalloc {peak / 2**20:.1f} MiB, ru_maxrss {rss_mb:.1f} MiB")


if __name__ == "__main__":
    main()
