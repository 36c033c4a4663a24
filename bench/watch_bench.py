"""Benchmark: the client's own work in a ``connector sync --watch`` pass on CalDAV (issue 14).

Starts Radicale on 127.0.0.1 with one calendar of N events (default 5,000) and runs the
daemon's pass loop (:func:`sync.daemon.watch`, as ``sync --watch`` wires it through
:func:`sync.runner.open_run`) in this process. Every HTTP request of the process is timed
(``connector.http_wire.Wire.send`` wrapped: every request any
client of the connector sends); a pass's *client time* is its wall time minus the time
spent inside those requests (Radicale's work and the wire), i.e. what the connector itself
costs: store, plan, settle rounds, parsing. Scenarios, ``--repeat`` passes each (at least 7):

- no-op: nothing changed anywhere;
- 10 server edits: another client changed 10 events before each pass (the pass pulls them).

The calendar is filled untimed and fast: the events' .ics files, as the connector itself
writes them, go straight into Radicale's storage folder; a first pass adopts them (one
listing, no writes), a second settles. Target: client time of a no-op pass at 5,000 events
≤ 60 ms, and growing with the changed items, not with the calendar.
Run from the project root: ``.venv/bin/python bench/watch_bench.py [--events N] [--repeat R]
[--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli_caldav_bench import CALENDAR, CONFIG, MAPPING, populate

from connector import ical
from connector.calendars import CalendarTarget
from connector.errors import ConnectorError
from connector.http_wire import Response, Wire
from connector.testing.calendar_servers import CalendarServer, radicale_server
from sync.catalog import Catalog
from sync.config import load_config
from sync.daemon import Stopper, watch
from sync.engine import RuleResult
from sync.runner import Run, open_run

EDITS = 10


class HttpClock:
    """Seconds and requests spent sending the connector's requests since the last
    :meth:`take`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.requests = 0
        self._original: Callable[..., Response] = Wire.send

    def install(self) -> None:
        original = self._original
        clock = self

        def timed(wire: Wire, *args: Any, **kwargs: Any) -> Response:
            began = time.perf_counter()
            try:
                return original(wire, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - began
                clock.requests += 1

        Wire.send = timed  # type: ignore[method-assign,assignment]

    def take(self) -> tuple[float, int]:
        taken = (self.seconds, self.requests)
        self.seconds, self.requests = 0.0, 0
        return taken


def fill(run: Run, server: CalendarServer) -> None:
    """Make the calendar and write every event's .ics into Radicale's folder (untimed)."""
    engine = run.engines[0]
    rule = engine.mapping.rules[0]
    view = engine.views[rule.name]
    catalog = Catalog.load(run.store)
    collection = engine.collection(rule, catalog)
    target = engine.targets[rule.target]
    assert isinstance(target, CalendarTarget)
    target.open(collection)
    folder = server.storage / "collection-root" / server.user / CALENDAR
    assert folder.is_dir(), f"Radicale keeps the calendar elsewhere: {folder}"
    tz = ical.zone(collection.options.get("timezone"))
    for entity in catalog.all("event"):
        fields = {
            codec.spec.remote: codec.render(entity, catalog, tandems=True)
            for codec in view.codecs.values()
        }
        body = ical.build(f"{entity.uid}@{target.uid_domain}", fields, tz)
        (folder / f"{entity.uid}.ics").write_bytes(body)
    # Radicale reads files it has not seen into its cache on the first listing, slower than
    # the connector's timeout allows at 5,000: one untimed listing with a patient timeout.
    http = requests.Session()
    http.auth = (server.user, server.password)
    url = f"{server.url.rstrip('/')}/{server.user}/{CALENDAR}/"
    http.request("PROPFIND", url, headers={"Depth": "1"}, timeout=900).raise_for_status()
    http.close()


def edit_on_server(server: CalendarServer, paths: list[str], round_: int) -> None:
    """Another client renames ``EDITS`` events (outside the timed pass)."""
    http = requests.Session()
    http.auth = (server.user, server.password)
    base = server.url.rstrip("/")
    for path in paths:
        body = http.get(base + path).text
        lines = [
            f"SUMMARY:Geändert {round_}" if line.startswith("SUMMARY") else line
            for line in body.splitlines()
        ]
        response = http.put(
            base + path,
            data="\r\n".join(lines).encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
        response.raise_for_status()
    http.close()


def figures(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def passes(
    run: Run, clock: HttpClock, count: int, between: Callable[[int], None]
) -> dict[str, Any]:
    """``count`` passes of the daemon's loop; per pass wall, HTTP and client ms."""
    walls: list[float] = []
    https: list[float] = []
    requests_made: list[int] = []
    merged: list[int] = []

    def one_pass(resting: Mapping[str, ConnectorError]) -> list[RuleResult]:
        clock.take()
        began = time.perf_counter()
        results = run.sync(None, resting)
        walls.append((time.perf_counter() - began) * 1000)
        seconds, made = clock.take()
        https.append(seconds * 1000)
        requests_made.append(made)
        merged.append(sum(n for r in results for n in r.counts.values()))
        for result in results:
            if result.error is not None:
                raise RuntimeError(f"{result.rule}: {result.error}")
        return results

    def report(results: list[RuleResult], wait: float) -> None:
        between(len(walls))
        clock.take()

    between(0)
    with Stopper() as stopper:
        watch(one_pass, 0.0, stopper, report=report, max_passes=count)
    client = [w - h for w, h in zip(walls, https, strict=True)]
    return {
        "wall": figures(walls),
        "http": figures(https),
        "client": figures(client),
        "requests": requests_made,
        "changes": merged,
    }


def profile(run: Run) -> None:
    """Where a no-op pass spends its time (a breakdown, printed)."""
    import cProfile
    import pstats

    run.sync()
    profiler = cProfile.Profile()
    profiler.enable()
    run.sync()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--profile", action="store_true", help="cProfile one more no-op pass")
    args = parser.parse_args()
    repeat = max(7, args.repeat)
    clock = HttpClock()
    clock.install()
    with tempfile.TemporaryDirectory() as tmp, radicale_server(Path(tmp) / "radicale") as server:
        work = Path(tmp) / "work"
        work.mkdir()
        (work / "connector.toml").write_text(CONFIG, encoding="utf-8")
        mapping = MAPPING.format(url=server.url, user=server.user, calendar=CALENDAR)
        (work / "mapping.toml").write_text(mapping, encoding="utf-8")
        populate(work / "cohort.db", range(args.events))
        os.environ["BENCH_CALDAV_PASSWORD"] = server.password
        config = load_config(work / "connector.toml")
        started = time.perf_counter()
        with open_run(config) as run:
            fill(run, server)
            first = run.sync()
            for result in [*first, *run.sync()]:
                if result.error is not None:
                    raise RuntimeError(f"setup: {result.rule}: {result.error}")
            setup = time.perf_counter() - started
            links = run.store.links("mim-10:fahrplan")
            assert len(links) == args.events, f"{len(links)} of {args.events} events linked"
            adopted = len(first[0].plan.items) if first[0].plan else 0
            paths = [links[f"ev-{i:05d}"].remote_id for i in range(EDITS)]
            quiet = passes(run, clock, repeat, lambda n: None)
            edited = passes(run, clock, repeat, lambda n: edit_on_server(server, paths, n))
            if args.profile:
                profile(run)
    load = os.getloadavg()
    rows = {"no-op": quiet, f"{EDITS} server edits": edited}
    print(f"events: {args.events:,}; setup (untimed): {setup:.1f} s, {adopted} records adopted")
    print(f"load average: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print(f"{'scenario':<16} {'pass wall':>22} {'in HTTP':>22} {'client':>22}  requests")
    for name, row in rows.items():
        cells = [
            f"{row[k]['median']:.1f} ({row[k]['min']:.1f}–{row[k]['max']:.1f}) ms"
            for k in ("wall", "http", "client")
        ]
        print(f"{name:<16} {cells[0]:>22} {cells[1]:>22} {cells[2]:>22}  {row['requests']}")
        print(f"{'':<16} changes per pass: {row['changes']}")
    verdict = "met" if quiet["client"]["median"] <= 60 else "not met"
    if args.events < 5_000:
        verdict = "not judged (fewer events)"
    print(f"target: no-op client work ≤ 60 ms at 5,000 events: {verdict}")
    if args.json:
        args.json.write_text(
            json.dumps({"events": args.events, "load": load, "rows": rows}, indent=1),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
