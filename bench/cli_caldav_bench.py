"""Benchmark: ``connector sync`` as a user runs it against ``vdirsyncer sync``, on CalDAV.

Starts Radicale on 127.0.0.1 with one calendar of N events (default 1,000) that the
connector made and adopted from a real store and mapping (untimed; see ``Bench.seed``).
Then, per scenario, the two commands run as fresh processes, alternated, ``--repeat`` times
(at least 7); the table shows median and min–max in ms, requests Radicale logged, and the
ratio of the medians:

- no-op: nothing changed anywhere;
- 10 server edits: another client moved 10 events before each run (both tools pull them);
- 10 pushes: 10 events changed on the tool's own side before each run (the connector's
  store; vdirsyncer's local folder), so both write 10 events.

vdirsyncer runs from the benchmark's own virtualenv (``.venv-bench``, ``pip install
vdirsyncer``; installed on first use). Times include everything a user waits for: process
start-up, store, mapping, plan, settle rounds. Run from the project root:
``.venv/bin/python bench/cli_caldav_bench.py [--events N] [--repeat R] [--json FILE]``.
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
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from connector import ical
from connector.testing.calendar_servers import CalendarServer, radicale_server
from sync.model import BERLIN, Cohort, Event
from sync.store import Store

#: A user's Python keeps compiled modules (``__pycache__``); an environment that sets
#: PYTHONDONTWRITEBYTECODE (this sandbox does) would make every timed process compile the
#: project's sources again, while the peer's installed packages have theirs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
#: The command timed (``BENCH_CONNECTOR`` names another build, e.g. an older checkout).
CONNECTOR = Path(os.environ.get("BENCH_CONNECTOR") or ROOT / ".venv" / "bin" / "connector")
VENV = ROOT / ".venv-bench"
CALENDAR = "bench-fahrplan"
#: vdirsyncer's own copy of the calendar, so neither tool sees the other's writes.
PEER = "bench-peer"
EDITS = 10
_REQUEST = re.compile(r"\[INFO\] [A-Z]+ request for ")

MAPPING = """\
name = "Benchmark"
programme = "mim"
cohort = "mim-10"

[targets.kalender]
kind = "caldav"
url = "{url}"
user = "{user}"
audience = "participants"
secret = {{ env = "BENCH_CALDAV_PASSWORD" }}

[[rules]]
name = "fahrplan"
entity = "event"
target = "kalender"

[rules.calendar]
calendar = "{calendar}"
display_name = "Fahrplan"

[[rules.fields]]
remote = "summary"
canonical = "title"
policy = "newest"

[[rules.fields]]
remote = "location"
canonical = "location"
policy = "newest"

[[rules.fields]]
remote = "start"
canonical = "start"
policy = "newest"

[[rules.fields]]
remote = "end"
canonical = "end"
policy = "newest"
"""

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]
"""


def server_requests(server: CalendarServer) -> int:
    """How many requests Radicale has logged so far."""
    return len(_REQUEST.findall(server.log.read_text(errors="replace")))


def run(command: list[str], env: dict[str, str] | None = None, stdin: str = "") -> str:
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def vdirsyncer() -> Path:
    """vdirsyncer in the benchmark's own virtualenv (installed there if missing)."""
    executable = VENV / "bin" / "vdirsyncer"
    if not executable.exists():
        print(f"installing vdirsyncer into {VENV} ...", flush=True)
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(VENV / "bin" / "pip"), "install", "--quiet", "vdirsyncer"])
    return executable


def event(i: int) -> Event:
    """The benchmark's event number ``i``."""
    day = datetime(2026, 1, 5, 9 + i % 8, tzinfo=BERLIN) + timedelta(days=i % 300)
    return Event(
        uid=f"ev-{i:05d}",
        cohort="mim-10",
        event_kind="module",
        title=f"Tandemtreffen {i}",
        start=day,
        end=day + timedelta(hours=1),
        location=f"Raum {i % 17}",
        audience={"mentees", "mentors"},
    )


def populate(path: Path, numbers: range) -> None:
    with Store.open(path) as store, store.transaction():
        if store.get("mim-10") is None:
            store.put(
                Cohort(
                    uid="mim-10",
                    programme="mim",
                    number=10,
                    title="Durchgang 10",
                    period_start=date(2025, 9, 1),
                    period_end=date(2027, 6, 30),
                )
            )
        for i in numbers:
            store.put(event(i))


def ics(i: int) -> bytes:
    """Event ``i`` as the connector writes it (its UID is the connector's marker)."""
    e = event(i)
    fields = {
        "summary": e.title,
        "location": e.location,
        "start": e.start.isoformat(),
        "end": e.end.isoformat() if e.end else "",
    }
    return ical.build(f"{e.uid}@cohort-connector", fields, BERLIN)


class Bench:
    """Radicale, a connector working folder, and a vdirsyncer pair on the same calendar."""

    def __init__(self, server: CalendarServer, work: Path, count: int) -> None:
        self.server, self.work, self.count = server, work, count
        (work / "connector.toml").write_text(CONFIG, encoding="utf-8")
        (work / "mapping.toml").write_text(
            MAPPING.format(url=server.url, user=server.user, calendar=CALENDAR), encoding="utf-8"
        )
        self.env = {**os.environ, "BENCH_CALDAV_PASSWORD": server.password}
        self.round = 0
        self.http = requests.Session()
        self.http.auth = (server.user, server.password)

    def seed(self) -> None:
        """The calendar with ``count`` events and the store linked to them (untimed).

        A first ``connector sync`` makes the calendar and one event; the other events are
        then written straight into Radicale's storage folder as the connector would write
        them, and the next ``connector sync`` adopts them by their marker (one listing, no
        writes) — minutes faster than PUTting thousands of events one by one.
        """
        populate(self.work / "cohort.db", range(1))
        self.connector()
        folder = self.server.storage / "collection-root" / self.server.user / CALENDAR
        for i in range(1, self.count):
            (folder / f"ev-{i:05d}.ics").write_bytes(ics(i))
        populate(self.work / "cohort.db", range(1, self.count))
        self.connector()

    def paths(self) -> list[str]:
        """The connector's event paths, by event number."""
        with Store.open(self.work / "cohort.db") as store:
            links = store.links("mim-10:fahrplan")
        return [links[f"ev-{i:05d}"].remote_id for i in range(self.count)]

    def copy_to_peer(self) -> None:
        """The same events in vdirsyncer's calendar (untimed): a copy of the folder."""
        base = self.server.url.rstrip("/")
        self.http.request("MKCALENDAR", f"{base}/{self.server.user}/{PEER}/").raise_for_status()
        root = self.server.storage / "collection-root" / self.server.user
        for path in (root / CALENDAR).glob("*.ics"):
            shutil.copyfile(path, root / PEER / path.name)

    def connector(self) -> None:
        run(
            [str(CONNECTOR), "--config", str(self.work / "connector.toml"), "sync", "--stats"],
            self.env,
        )

    def vdir_setup(self) -> None:
        local = self.work / "local"
        local.mkdir()
        self.vconf = self.work / "vdirsyncer.conf"
        self.vconf.write_text(f"""[general]
status_path = "{self.work}/status/"

[pair bench]
a = "bench_remote"
b = "bench_local"
collections = null
conflict_resolution = "a wins"

[storage bench_remote]
type = "caldav"
url = "{self.server.url.rstrip("/")}/{self.server.user}/{PEER}/"
username = "{self.server.user}"
password = "{self.server.password}"

[storage bench_local]
type = "filesystem"
path = "{local}/"
fileext = ".ics"
""")
        self.vbase = [str(vdirsyncer()), "-c", str(self.vconf)]
        run([*self.vbase, "discover"], stdin="y\n" * 5)
        run([*self.vbase, "sync"])
        #: Event number's uid → vdirsyncer's file of it (vdirsyncer names files itself).
        self.local: dict[str, Path] = {}
        for path in local.glob("*.ics"):
            uid = re.search(r"^UID:(ev-\d+)@", path.read_text(), re.MULTILINE)
            if uid:
                self.local[uid.group(1)] = path

    def vdirsyncer(self) -> None:
        run([*self.vbase, "sync"])

    # -- what changes before a timed run ---------------------------------------------------

    def _batch(self) -> list[int]:
        self.round += 1
        start = (self.round * EDITS * 7) % self.count
        return [(start + k) % self.count for k in range(EDITS)]

    def edit_on_server(self) -> None:
        """Another client changes the place of the same 10 events in both calendars."""
        base = self.server.url.rstrip("/")
        paths = self.paths()
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        for i in self._batch():
            for path in (paths[i], paths[i].replace(f"/{CALENDAR}/", f"/{PEER}/")):
                text = self.http.get(base + path).text
                body = ical.apply_changes(text, {"location": f"Saal {self.round}"}, BERLIN)
                self.http.put(base + path, data=body, headers=headers).raise_for_status()

    def edit_in_store(self) -> None:
        with Store.open(self.work / "cohort.db") as store:
            for i in self._batch():
                event = store.get(f"ev-{i:05d}")
                assert isinstance(event, Event)
                store.put(event.touched(location=f"Saal {self.round} (Büro)"))

    def edit_local_files(self) -> None:
        for i in self._batch():
            path = self.local[f"ev-{i:05d}"]
            body = ical.apply_changes(
                path.read_bytes(), {"location": f"Saal {self.round} (v)"}, BERLIN
            )
            assert body is not None
            path.write_bytes(body)


def timed(server: CalendarServer, action: Callable[[], None]) -> tuple[float, int]:
    before = server_requests(server)
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000, server_requests(server) - before


def figures(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def scenario(
    bench: Bench,
    name: str,
    repeat: int,
    prepare: Callable[[], None],
    ours: Callable[[], None],
    theirs: Callable[[], None],
) -> dict[str, Any]:
    """``repeat`` times: prepare, then run both tools (which one first alternates)."""
    times: dict[str, list[float]] = {"connector": [], "vdirsyncer": []}
    counts: dict[str, set[int]] = {"connector": set(), "vdirsyncer": set()}
    tools = [("connector", ours), ("vdirsyncer", theirs)]
    for n in range(repeat):
        prepare()
        for tool, action in tools if n % 2 == 0 else tools[::-1]:
            ms, seen = timed(bench.server, action)
            times[tool].append(ms)
            counts[tool].add(seen)
    row: dict[str, Any] = {"scenario": name, "events": bench.count, "repeat": repeat}
    for tool in times:
        row[tool] = {**figures(times[tool]), "requests": sorted(counts[tool])}
    row["ratio"] = row["connector"]["median"] / row["vdirsyncer"]["median"]
    return row


def both(*steps: Callable[[], None]) -> Callable[[], None]:
    def run_all() -> None:
        for step in steps:
            step()

    return run_all


def nothing() -> None:
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with radicale_server(work / "radicale", log_level="info") as server:
            bench = Bench(server, work, args.events)
            started = time.perf_counter()
            bench.seed()
            print(
                f"calendar of {args.events} events made and adopted (untimed): "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            bench.copy_to_peer()
            bench.vdir_setup()
            bench.connector()  # absorb anything the first pass left (quiet from here)
            pushes = both(bench.edit_in_store, bench.edit_local_files)
            for name, prepare in (
                ("no-op", nothing),
                (f"{EDITS} server edits", bench.edit_on_server),
                (f"{EDITS} pushes", pushes),
            ):
                row = scenario(bench, name, args.repeat, prepare, bench.connector, bench.vdirsyncer)
                rows.append(row)
    for row in rows:
        c, v = row["connector"], row["vdirsyncer"]
        print(
            f"{row['events']:>6} {row['scenario']:<16} connector {c['median']:.0f} ms "
            f"({c['min']:.0f}–{c['max']:.0f}), {'/'.join(map(str, c['requests']))} req | "
            f"vdirsyncer {v['median']:.0f} ms ({v['min']:.0f}–{v['max']:.0f}), "
            f"{'/'.join(map(str, v['requests']))} req | ratio {row['ratio']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
