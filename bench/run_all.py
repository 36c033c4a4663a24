"""Run the command benchmarks and write ``bench/results.md``.

Each benchmark times the ``connector`` command as a fresh process against its peer or floor,
alternating the two (see each script's docstring). ``--full`` adds CalDAV at 5,000 events;
``--breakdown`` appends the old in-process benchmarks' output, labelled as a breakdown (they
time an adapter or the engine inside one process, not the command). Run from the project
root: ``.venv/bin/python bench/run_all.py [--full] [--breakdown] [--repeat R] [--compare
CMD]`` (``--compare``: another build of ``connector``, e.g. an older checkout, timed alike).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
RESULTS = ROOT / "bench" / "results.md"
BREAKDOWN = ("caldav_bench.py", "engine_bench.py", "import_bench.py")


def _run(script: str, *args: str, build: str | None = None) -> str:
    env = {**os.environ, **({"BENCH_CONNECTOR": build} if build else {})}
    done = subprocess.run(
        [str(PYTHON), str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(done.stdout, flush=True)
    return done.stdout


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _machine() -> list[str]:
    load = os.getloadavg()
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
        f"- load average when started: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(the machine is shared with other engineers' test runs: figures are noisy, "
        "which is why runs alternate and medians are given with min–max)",
        f"- Python {platform.python_version()}; "
        f"{_version([str(PYTHON), '-m', 'radicale', '--version'])} (Radicale); "
        f"{_version([str(ROOT / '.venv-bench' / 'bin' / 'vdirsyncer'), '--version'])}",
        f"- git: {_version(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}",
    ]


def _ms(f: dict[str, float]) -> str:
    return f"{f['median']:.0f} ms ({f['min']:.0f}–{f['max']:.0f})"


def _caldav_rows(rows: list[dict[str, Any]]) -> list[str]:
    targets = {"no-op": 0.5, "10 server edits": 0.7, "10 pushes": 0.8}
    lines = [
        "| events | scenario | connector sync | requests | vdirsyncer sync | requests | ratio "
        "| target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, v = row["connector"], row["vdirsyncer"]
        target = targets[row["scenario"]]
        met = "yes" if row["ratio"] <= target else "no"
        lines.append(
            f"| {row['events']:,} | {row['scenario']} | {_ms(c)} | "
            f"{'/'.join(map(str, c['requests']))} | {_ms(v)} | "
            f"{'/'.join(map(str, v['requests']))} | {row['ratio']:.2f} | ≤ {target} | {met} |"
        )
    return lines


def _command_figures(
    tmp: Path, label: str, build: str | None, repeat: str, full: bool
) -> list[str]:
    """The ``--help`` and CalDAV tables for one build of the command."""
    start = tmp / "start.json"
    _run("cli_start_bench.py", "--repeat", str(2 * int(repeat)), "--json", str(start), build=build)
    help_row = json.loads(start.read_text())
    h = help_row["help"]
    met = "yes" if h["connector --help"]["median"] <= 100 else "no"
    lines = [
        f"## `connector --help` (fresh process), {label}",
        "",
        "| command | time |",
        "|---|---|",
        f"| `connector --help` | {_ms(h['connector --help'])} |",
        f"| `python -c pass` (floor) | {_ms(h['python -c pass'])} |",
        "",
        f"Target ≤ 100 ms: **{met}**. Slowest imports of `import cli` (one run of this "
        "checkout, cumulative, a breakdown):",
        "",
        *[f"- {micros / 1000:.1f} ms `{module.strip()}`" for micros, module in help_row["imports"]],
        "",
    ]
    caldav: list[dict[str, Any]] = []
    for events in ("1000", "5000") if full else ("1000",):
        out = tmp / f"caldav-{events}.json"
        _run(
            "cli_caldav_bench.py",
            "--events",
            events,
            "--repeat",
            repeat,
            "--json",
            str(out),
            build=build,
        )
        caldav += json.loads(out.read_text())
    return [
        *lines,
        f"## CalDAV: `connector sync --stats` against `vdirsyncer sync`, {label}",
        "",
        f"Fresh processes; each tool on its own copy of the calendar on one Radicale; runs "
        f"alternated (which tool first alternates too), {repeat} runs each; requests as "
        "Radicale logged them.",
        "",
        *_caldav_rows(caldav),
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="CalDAV at 5,000 events too")
    parser.add_argument("--breakdown", action="store_true", help="append in-process figures")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compare", help="another build of the command to time as well")
    args = parser.parse_args()
    repeat = str(max(7, args.repeat))
    lines = ["# Benchmark results", "", "Written by `bench/run_all.py`.", "", *_machine(), ""]
    builds: list[tuple[str, str | None]] = [("this checkout", None)]
    if args.compare:
        builds.append((f"compared build `{args.compare}`", args.compare))
    with tempfile.TemporaryDirectory() as tmp:
        for label, build in builds:
            lines += _command_figures(Path(tmp), label, build, repeat, args.full)
        if args.breakdown:
            lines += ["## Breakdown: in-process figures (not the command)", ""]
            for script in BREAKDOWN:
                lines += [f"### `{script}`", "", "```", _run(script).rstrip(), "```", ""]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
