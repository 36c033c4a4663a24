"""Plan a pass over 10,000 linked entities with 100 changed on each side.

Prints the wall time and peak memory of ``Engine.plan()`` (issue 14: at 20,000 under 0.6 s and
300 MB).
Run: ``.venv/bin/python bench/engine_bench.py [--entities N] [--changes N]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.engine import Options
from sync.factory import build_engine
from sync.model import Cohort, Task
from sync.store import Store

MAPPING = {
    "name": "bench",
    "programme": "mim",
    "cohort": "mim-10",
    "targets": {"board": {"kind": "memory", "url": "memory://bench", "audience": "council"}},
    "rules": [
        {
            "name": "aufgaben",
            "entity": "task",
            "target": "board",
            "deck": {"board": "Aufgaben", "stacks": ["Offen", "Erledigt"]},
            "fields": [
                {"remote": "title", "canonical": "title", "policy": "newest"},
                {"remote": "description", "canonical": "notes", "policy": "newest"},
                {
                    "remote": "stack",
                    "canonical": "done",
                    "values": {"false": "Offen", "true": "Erledigt"},
                    "policy": "ask",
                },
                {"remote": "labels", "canonical": "tags"},
                {"remote": "due", "canonical": "due", "policy": "newest"},
            ],
        }
    ],
}


def populate(store: Store, count: int) -> None:
    """A cohort with ``count`` tasks."""
    store.put(
        Cohort(
            uid="mim-10",
            programme="mim",
            number=10,
            title="Mentoring 10",
            period_start=date(2025, 3, 1),
            period_end=date(2026, 12, 31),
        )
    )
    with store.transaction():
        for i in range(count):
            store.put(
                Task(
                    uid=f"task-{i:05d}",
                    cohort="mim-10",
                    title=f"Aufgabe {i}",
                    notes="Raum und Catering klären",
                    tags={"Organisation"},
                    due=date(2026, 1, 1 + i % 28),
                )
            )


def main() -> None:
    """Build the scenario, then time one plan."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7, help="plans timed (median printed)")
    args = parser.parse_args()
    mapping = MappingFile.model_validate(MAPPING)
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        populate(store, args.entities)
        target = MemoryTarget("memory://bench")
        started = time.perf_counter()
        build_engine(store, mapping, {"board": target}, Options(today=date(2026, 1, 1))).sync()
        first_sync = time.perf_counter() - started
        with store.transaction():
            for i in range(args.changes):
                task = store.get(f"task-{i:05d}")
                assert task is not None
                store.put(task.touched(title=f"Aufgabe {i} (geändert)"))
        for remote_id in sorted(target.records("Aufgaben"))[-args.changes :]:
            target.edit("Aufgaben", remote_id, stack="Erledigt")
        # Each plan on a fresh engine, as each ``connector plan`` or one-shot ``sync`` is: it
        # reads the store anew (an engine keeps what a clean pass read for its next pass).
        times = []
        for _ in range(max(1, args.repeat)):
            engine = build_engine(
                store, mapping, {"board": target}, Options(today=date(2026, 1, 1))
            )
            started = time.perf_counter()
            results = engine.plan()
            times.append(time.perf_counter() - started)
        elapsed = statistics.median(times)
        # Memory is measured on one more, identical plan: tracemalloc slows the code it traces.
        engine = build_engine(store, mapping, {"board": target}, Options(today=date(2026, 1, 1)))
        tracemalloc.start()
        engine.plan()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    plan = results[0].plan
    assert plan is not None
    changed = [i for i in plan.items if i.remote or i.canonical]
    print(f"entities linked:        {args.entities}")
    print(f"changed per side:       {args.changes}")
    print(f"items with writes:      {len(changed)}")
    print(f"initial sync (untimed): {first_sync:.2f} s")
    print(
        f"plan wall time:         {elapsed:.3f} s   median of {len(times)} "
        f"({min(times):.3f}–{max(times):.3f}; target < 0.6 s at 20,000)"
    )
    print(f"plan peak (tracemalloc): {peak / 2**20:.1f} MiB   (target < 300 MB)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS:        {rss:.1f} MiB")


if __name__ == "__main__":
    main()
