"""Benchmark: what ``connector --help`` costs against the floor ``python -c pass``.

Three fresh processes, alternated, ``--repeat`` times (default 15): ``connector --help`` as a
user runs it again (answered from the help cache of ``connector/entry.py``, which the first
call of the round filled), the first call after a change (an empty cache: it imports the
whole CLI, prints and records), and ``python -c pass`` in the same virtualenv. Prints median and
min–max in ms and the ratio to the floor, and the ten slowest imports of ``import cli`` (``-X
importtime``, one run) as a breakdown. Run from the project root:
``.venv/bin/python bench/cli_start_bench.py [--repeat R] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
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
#: The command timed (``BENCH_CONNECTOR`` names another build, e.g. an older checkout).
CONNECTOR = Path(os.environ.get("BENCH_CONNECTOR") or ROOT / ".venv" / "bin" / "connector")
PYTHON = ROOT / ".venv" / "bin" / "python"


def once(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, env=env)
    return (time.perf_counter() - started) * 1000


def slowest_imports(count: int = 10) -> list[tuple[int, str]]:
    """(cumulative µs, module) of the slowest imports below ``cli``."""
    done = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", "import cli"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cached, first, floor = "connector --help", "connector --help, first call", "python -c pass"
    times: dict[str, list[float]] = {cached: [], first: [], floor: []}
    with tempfile.TemporaryDirectory() as tmp:
        warm = os.environ | {"XDG_CACHE_HOME": str(Path(tmp) / "warm")}
        once([str(CONNECTOR), "--help"], warm)  # fills the cache, untimed
        for number in range(args.repeat):
            cold = os.environ | {"XDG_CACHE_HOME": str(Path(tmp) / f"cold-{number}")}
            times[cached].append(once([str(CONNECTOR), "--help"], warm))
            times[floor].append(once([str(PYTHON), "-c", "pass"]))
            times[first].append(once([str(CONNECTOR), "--help"], cold))
    row = {
        name: {"median": statistics.median(t), "min": min(t), "max": max(t)}
        for name, t in times.items()
    }
    ratio = row[cached]["median"] / row[floor]["median"]
    for name, f in row.items():
        print(f"{name:<30} {f['median']:.0f} ms ({f['min']:.0f}–{f['max']:.0f})")
    print(f"ratio to the floor {ratio:.2f}; target: connector --help ≤ 100 ms")
    imports = slowest_imports()
    print("breakdown (one run, -X importtime, cumulative):")
    for micros, module in imports:
        print(f"  {micros / 1000:7.1f} ms {module}")
    if args.json:
        data = {"help": row, "ratio": ratio, "imports": imports, "repeat": args.repeat}
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
