"""Benchmark: a quiet ``connector sync`` of a 1,000-member list against a raw fetch of it.

Starts a real GNU Mailman 3 core (``connector.testing.mailman_server``, REST runner only) and
a connector working folder: a real store (cohort 10 and N mentees who agreed to the lists)
and a mapping with the shipped ``liste-mentees`` rule pointed at the harness. A first
``connector sync`` creates the list and subscribes everyone (untimed, about a minute), a
second one settles; its requests are recorded (``CONNECTOR_TIMINGS``,
:mod:`connector.timings`): they are what a quiet pass asks Mailman.

Mailman runs with two REST workers, its own default (``[webservice] workers: 2``; the test
harness uses one to save memory). The connector sends the slow delivery-status query on a
second connection while it reads the roster (``MailmanApi.roster_and_status``).

Timed, alternated, ``--repeat`` times (at least 7): ``connector sync --stats`` as a fresh
process, and the floor, the same requests fetched raw by one fresh ``curl`` process (one
keep-alive connection, one after the other, answers to /dev/null). Both are fresh processes
that open a connection and fetch the same roster; curl has no Python start-up, so the floor
is the strictest sequential "raw fetch" there is. The same requests fetched by curl side by
side (``--parallel``) are timed too and their ratio printed: what the requests cost when
nobody waits for one before sending the next. Another command, curl of the list's roster as
anyone would ask for it (``GET /lists/{id}/roster/member``: one request, every member
field), is timed too and its ratio printed, for the issue's wording "a raw fetch of the same
roster"; the verdict is against the same requests. Every timed connector pass must do
nothing (checked), and the recorded request list must be the same in every pass (checked; in
any order). The connector's own time is its wall time minus the time at least one of its
requests was in flight. Prints median and min–max, the request count, the ratio of the
medians and the verdict against ≤ 1.1.

Run from the project root:
``.venv/bin/python bench/cli_mailman_bench.py [--members N] [--repeat R] [--json FILE]``.
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
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from connector.testing.mailman_server import MailmanInstance, mailman_server
from sync.model import Cohort, Person, Role
from sync.store import Store

#: A user's Python keeps compiled modules (``__pycache__``); an environment that sets
#: PYTHONDONTWRITEBYTECODE (this sandbox does) would make every timed process compile the
#: project's sources again, while the peer's installed packages have theirs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = Path(os.environ.get("BENCH_CONNECTOR") or ROOT / ".venv" / "bin" / "connector")
TARGET = 1.1
ADDRESS = "mentees-bench@mentoring.example.org"

MAPPING = """\
name = "Benchmark"
programme = "mim"
cohort = "mim-10"

[targets.listen]
kind = "mailman"
url = "{url}"
user = "{user}"
audience = "participants"
secret = {{ env = "BENCH_MAILMAN_PASSWORD" }}

[[rules]]
name = "liste-mentees"
entity = "person"
target = "listen"
audience = "mentees"
filter = {{ roles = ["mentee"], consent_lists = true }}
key = "email"
on_remote_delete = "opt_out"

[rules.list]
address = "{address}"
display_name = "Mentees Durchgang 10"
subject_prefix = "[Mentees 10] "
policies = {{ subscription_policy = "moderate", archive_policy = "private", advertised = false }}

[[rules.fields]]
remote = "email"
canonical = "email"
direction = "out"

[[rules.fields]]
remote = "display_name"
template = "{{given_name}} {{family_name}}"
direction = "out"
"""

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]
"""


def run(command: list[str], env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def populate(path: Path, members: int) -> None:
    with Store.open(path) as store, store.transaction():
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
        for i in range(members):
            store.put(
                Person(
                    uid=f"p-{i:05d}",
                    given_name=f"Vorname{i}",
                    family_name=f"Nachname{i}",
                    email=f"mentee{i:05d}@greven.example",
                    roles={Role.MENTEE},
                    cohorts={"mim-10"},
                    consent_lists=True,
                )
            )


class Bench:
    """Mailman, a connector working folder on it, and the recorded requests of a quiet pass."""

    def __init__(self, instance: MailmanInstance, work: Path, members: int) -> None:
        self.instance, self.work = instance, work
        work.mkdir(parents=True, exist_ok=True)
        (work / "connector.toml").write_text(CONFIG, encoding="utf-8")
        mapping = MAPPING.format(url=instance.url, user=instance.user, address=ADDRESS)
        (work / "mapping.toml").write_text(mapping, encoding="utf-8")
        populate(work / "cohort.db", members)
        self.timings = work / "timings.jsonl"
        self.env = {
            **os.environ,
            "BENCH_MAILMAN_PASSWORD": instance.password,
            "CONNECTOR_CONFIG": str(work / "connector.toml"),
            "CONNECTOR_TIMINGS": str(self.timings),
        }
        self.trips: list[dict[str, Any]] = []

    def sync(self) -> str:
        self.timings.unlink(missing_ok=True)
        out = run([str(CONNECTOR), "sync", "--stats"], self.env)
        self.trips = [json.loads(line) for line in self.timings.read_text().splitlines()]
        return out

    def requests(self) -> list[tuple[str, str]]:
        return [(t["method"], t["url"]) for t in self.trips]

    def curl_config(self) -> str:
        """curl's config for the recorded requests: one process, one connection."""
        for method, url in self.requests():
            if method != "GET":
                raise RuntimeError(f"a quiet pass sent {method} {url}: not a quiet pass")
        return self.curl_urls([url for _, url in self.requests()])

    def curl_urls(self, urls: list[str]) -> str:
        lines = [f'user = "{self.instance.user}:{self.instance.password}"', "silent", "fail"]
        for url in urls:
            lines += [f'url = "{url}"', 'output = "/dev/null"']
        return "\n".join(lines) + "\n"


def in_flight(trips: list[dict[str, Any]]) -> float:
    """Seconds during which at least one of the recorded requests was under way."""
    spans = sorted((t["started"], t["started"] + t["seconds"]) for t in trips)
    total, end = 0.0, float("-inf")
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def figures(times: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in times]
    return {"median": statistics.median(ms), "min": min(ms), "max": max(ms)}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        mailman_server(Path(tmp) / "mailman", workers=2) as mm,
    ):
        bench = Bench(mm, Path(tmp) / "work", args.members)
        started = time.perf_counter()
        first = bench.sync()
        if f"{args.members} create" not in first:
            raise RuntimeError(f"the first sync did not subscribe {args.members}:\n{first}")
        print(f"setup: {args.members} members subscribed in {time.perf_counter() - started:.0f} s")
        bench.sync()  # settles; from here on every pass is quiet
        recorded = bench.requests()
        config = bench.curl_config()
        side_by_side = "parallel\nparallel-immediate\n" + config
        plain = bench.curl_urls([f"{mm.url}/3.1/lists/{ADDRESS.replace('@', '.')}/roster/member"])
        ours: list[float] = []
        raw: list[float] = []
        roster: list[float] = []
        parallel: list[float] = []
        outputs: list[str] = []

        trips: list[float] = []

        def connector() -> None:
            outputs.append(bench.sync())
            trips.append(in_flight(bench.trips))

        def curl() -> None:
            run(["curl", "--config", "-"], dict(os.environ), stdin=config)

        def curl_roster() -> None:
            run(["curl", "--config", "-"], dict(os.environ), stdin=plain)

        def curl_parallel() -> None:
            run(["curl", "--config", "-"], dict(os.environ), stdin=side_by_side)

        for index in range(args.repeat):
            steps = [
                (connector, ours), (curl, raw), (curl_roster, roster), (curl_parallel, parallel)
            ]  # fmt: skip
            for action, into in steps if index % 2 == 0 else steps[::-1]:
                into.append(timed(action))
            if sorted(bench.requests()) != sorted(recorded):
                raise RuntimeError(f"a quiet pass asked something else:\n{bench.requests()}")
        last = list(bench.trips)
        own = [wall - inside for wall, inside in zip(ours, trips, strict=True)]
        for out in outputs:
            if "nothing to do" not in out:
                raise RuntimeError(f"a timed pass was not quiet:\n{out}")
    c, f, r, p = figures(ours), figures(raw), figures(roster), figures(parallel)
    ratio = c["median"] / f["median"]
    paths = [url.split("/3.1", 1)[-1].split("?", 1)[0] for _, url in recorded]
    row = {
        "members": args.members,
        "runs": args.repeat,
        "connector": c,
        "curl": f,
        "curl_roster": r,
        "curl_parallel": p,
        "ratio_parallel": c["median"] / p["median"],
        "client_own": figures(own),
        "ratio_roster": c["median"] / r["median"],
        "requests": len(recorded),
        "paths": paths,
        "last_pass_ms": [round(t["seconds"] * 1000) for t in last],
        "ratio": ratio,
        "target": TARGET,
        "met": ratio <= TARGET,
    }
    print(
        f"Mailman quiet pass, {args.members} members, {args.repeat} runs each, alternated:\n"
        f"  connector sync --stats   {c['median']:.0f} ms ({c['min']:.0f}–{c['max']:.0f}), "
        f"{len(recorded)} requests: {', '.join(paths)} "
        f"(last pass: {' + '.join(map(str, row['last_pass_ms']))} ms)\n"
        f"  curl, same requests      {f['median']:.0f} ms ({f['min']:.0f}–{f['max']:.0f})\n"
        f"  curl, same requests side by side (--parallel) {p['median']:.0f} ms "
        f"({p['min']:.0f}–{p['max']:.0f}) (ratio {row['ratio_parallel']:.2f})\n"
        f"  curl, plain roster GET   {r['median']:.0f} ms ({r['min']:.0f}–{r['max']:.0f}) "
        f"(every member field, one request; ratio {row['ratio_roster']:.2f})\n"
        f"  of the connector's time, its own (wall − time with a request in flight): "
        f"{row['client_own']['median']:.0f} ms ({row['client_own']['min']:.0f}–"
        f"{row['client_own']['max']:.0f})\n"
        f"  ratio {ratio:.2f} to the same requests, target ≤ {TARGET}: "
        f"{'met' if row['met'] else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps(row, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
