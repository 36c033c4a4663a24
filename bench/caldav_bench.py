"""Benchmark: change detection of the CalDAV adapter against ``vdirsyncer sync``.

Starts Radicale on 127.0.0.1, fills one calendar with 1,000 events through the adapter and
times two passes for each tool: a pass where nothing changed, and a pass after another
client moved 10 events. Request counts come from the adapter's own counter and, for both
tools, from Radicale's request log. vdirsyncer is installed from PyPI into its own virtualenv
(``.cache/vdirsyncer-venv``) on first use; its discover and first full sync are not timed.

The adapter is timed twice: in this process (a daemon's view) and in a fresh Python process
(what a one-shot command pays, comparable with vdirsyncer's figures, which include start-up).

Run from the project root: ``.venv/bin/python bench/caldav_bench.py [--events N]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import requests

from connector import ical
from connector.base import Collection
from connector.calendars import CalendarTarget
from connector.testing.calendar_servers import CalendarServer, radicale_server

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "vdirsyncer-venv"
MOVES = 10
REPEAT = 3
BERLIN = ical.zone("Europe/Berlin")
COLLECTION = Collection("bench", {"display_name": "Benchmark"})
#: One timed pass: returns (requests by the tool's own count or "-", events it reported).
Pass = Callable[[], tuple[str, int]]
_REQUEST = re.compile(r"\[INFO\] [A-Z]+ request for ")

ONE_SHOT = """
import sys, time
from connector.base import Collection
from connector.calendars import CalendarTarget
url, cursor_file = sys.argv[1], sys.argv[2]
target = CalendarTarget(url, "user", "secret")
changes = target.changes(Collection("bench"), open(cursor_file).read())
open(cursor_file, "w").write(changes.cursor)
print(len(changes.records), target.requests)
"""


def server_requests(server: CalendarServer) -> int:
    """How many requests Radicale has logged so far."""
    return len(_REQUEST.findall(server.log.read_text(errors="replace")))


def measure(server: CalendarServer, action: Callable[[], Any]) -> tuple[float, int, Any]:
    """(seconds, requests seen by the server, result) of one call of ``action``."""
    before = server_requests(server)
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    return elapsed, server_requests(server) - before, result


def event(i: int) -> dict[str, Any]:
    day = date(2026, 1, 5) + timedelta(days=i % 300)
    return {
        "summary": f"Tandemtreffen {i}",
        "location": f"Raum {i % 17}",
        "description": f"Termin {i} des Fahrplans",
        "start": f"{day}T{9 + i % 8:02d}:00:00",
        "end": f"{day}T{10 + i % 8:02d}:00:00",
    }


def move_out_of_band(server: CalendarServer, paths: list[str], days: int) -> None:
    """Another client (plain requests) moves each event by ``days``."""
    session = requests.Session()
    session.auth = (server.user, server.password)
    for path in paths:
        url = server.url.rstrip("/") + path
        text = session.get(url).text
        start = ical.read_fields(ical.parse_event(text)[1], BERLIN)["start"]
        moved = date.fromisoformat(start[:10]) + timedelta(days=days)
        times = {"start": f"{moved}T08:00", "end": f"{moved}T09:30"}
        body = ical.apply_changes(text, times, BERLIN)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        session.put(url, data=body, headers=headers).raise_for_status()


def fill(target: CalendarTarget, count: int) -> list[str]:
    started = time.perf_counter()
    paths = []
    for i in range(count):
        paths.append(target.create(COLLECTION, f"bench-{i:04d}", event(i)).remote_id)
        if (i + 1) % 250 == 0:
            print(f"  created {i + 1} events in {time.perf_counter() - started:.1f} s", flush=True)
    return paths


def repeat_passes(
    server: CalendarServer, tool: str, one_pass: Pass, fresh: Iterator[list[str]]
) -> list[tuple[str, ...]]:
    """Rows for ``REPEAT`` quiet passes and ``REPEAT`` passes after moving 10 fresh events."""
    rows: list[tuple[str, ...]] = []
    for label, moving in (("no-op pass", False), (f"after {MOVES} moves", True)):
        times, own, seen, found = [], set(), set(), set()
        for _ in range(REPEAT):
            if moving:
                move_out_of_band(server, next(fresh), days=7)
            seconds, requests_seen, (counted, reported) = measure(server, one_pass)
            times.append(seconds * 1000)
            own.add(counted)
            seen.add(str(requests_seen))
            found.add(str(reported))
        timing = f"{statistics.median(times):.0f} ms ({min(times):.0f}-{max(times):.0f})"
        rows.append((tool, label, "/".join(sorted(own)), "/".join(sorted(seen)), timing,
                     "/".join(sorted(found))))  # fmt: skip
    return rows


def adapter_in_process(server: CalendarServer) -> Pass:
    """One changes() pass of a long-running adapter, carrying its cursor along."""
    target = CalendarTarget(server.url, server.user, server.password)
    cursor = [target.changes(COLLECTION, None).cursor]

    def one_pass() -> tuple[str, int]:
        target.reset_stats()
        changes = target.changes(COLLECTION, cursor[0])
        cursor[0] = changes.cursor
        return str(target.requests), len(changes.records)

    return one_pass


def adapter_fresh_process(server: CalendarServer, work: Path) -> Pass:
    """One changes() pass in a new Python process, the cursor kept in a file."""
    cursor_file = work / "cursor.json"
    target = CalendarTarget(server.url, server.user, server.password)
    cursor_file.write_text(target.changes(COLLECTION, None).cursor or "")
    command = [sys.executable, "-c", ONE_SHOT, server.url, str(cursor_file)]

    def one_pass() -> tuple[str, int]:
        found, counted = _run(command).split()
        return counted, int(found)

    return one_pass


def _run(command: list[str], stdin: str = "") -> str:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def vdirsyncer() -> Path:
    """The vdirsyncer executable in the benchmark's own virtualenv (installed if missing)."""
    executable = VENV / "bin" / "vdirsyncer"
    if not executable.exists():
        print(f"installing vdirsyncer into {VENV} ...", flush=True)
        _run([sys.executable, "-m", "venv", str(VENV)])
        _run([str(VENV / "bin" / "pip"), "install", "--quiet", "vdirsyncer"])
    return executable


def vdirsyncer_config(server: CalendarServer, work: Path) -> Path:
    (work / "local").mkdir(parents=True, exist_ok=True)
    config = work / "vdirsyncer.conf"
    config.write_text(f"""[general]
status_path = "{work}/status/"

[pair bench]
a = "bench_remote"
b = "bench_local"
collections = null
conflict_resolution = "a wins"

[storage bench_remote]
type = "caldav"
url = "{server.url.rstrip("/")}/{server.user}/{COLLECTION.name}/"
username = "{server.user}"
password = "{server.password}"

[storage bench_local]
type = "filesystem"
path = "{work}/local/"
fileext = ".ics"
""")
    return config


def vdirsyncer_pass(server: CalendarServer, work: Path) -> Pass:
    """One ``vdirsyncer sync`` after an untimed discover and first full sync."""
    executable = vdirsyncer()
    base = [str(executable), "-c", str(vdirsyncer_config(server, work))]
    started = time.perf_counter()
    version = _run([*base, "--version"]).strip()
    print(f"  {version}: process start-up {1000 * (time.perf_counter() - started):.0f} ms")
    _run([*base, "discover"], stdin="y\n" * 5)
    seconds, seen, _ = measure(server, partial(_run, [*base, "sync"]))
    print(f"  first full sync (untimed in the table): {seconds:.1f} s, {seen} requests")

    def one_pass() -> tuple[str, int]:
        started = time.time()
        _run([*base, "sync"])
        return "-", sum(p.stat().st_mtime >= started for p in (work / "local").glob("*.ics"))

    return one_pass


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("tool", "pass", "requests (own count)", "requests (server log)",
              f"wall time, median of {REPEAT} (min-max)", "events reported")  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="caldav-bench-") as tmp:
        work = Path(tmp)
        with radicale_server(work / "radicale", log_level="info") as server:
            print(f"Radicale at {server.url}; creating {args.events} events ...", flush=True)
            target = CalendarTarget(server.url, server.user, server.password)
            target.open(COLLECTION)
            paths = fill(target, args.events)
            target.close()
            fresh = (paths[i : i + MOVES] for i in range(0, len(paths), MOVES))
            rows = repeat_passes(server, "adapter, in process", adapter_in_process(server), fresh)
            one_shot = adapter_fresh_process(server, work)
            rows += repeat_passes(server, "adapter, fresh process", one_shot, fresh)
            syncer = vdirsyncer_pass(server, work / "vdirsyncer")
            rows += repeat_passes(server, "vdirsyncer sync", syncer, fresh)
    print()
    print(f"Change detection on one Radicale calendar of {args.events} events")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
