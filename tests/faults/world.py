"""A small cohort synced to real Radicale, real Mailman and the Deck double, each behind a
:class:`~tests.faults.proxy.FaultProxy`, plus what a person does on each platform.

The store and the engine are the ones `connector sync` uses (:func:`sync.runner.prepare` on a
``connector.toml``). Two configurations share the store: ``faulty`` reaches the platforms
through the proxies, ``direct`` without them (for clean passes and for checking).
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connector.base import Collection, RemoteRecord, Target
from connector.testing.calendar_servers import CalendarServer
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import MailmanInstance
from sync.config import resolve_config
from sync.engine import RuleResult
from sync.model import BERLIN, Cohort, Event, EventKind, Organisation, Person, Task
from sync.runner import Run, prepare
from sync.store import Store

TASKS, EVENTS, PEOPLE = 6, 5, 6
COHORT = "mim-10"

MAPPING = """\
name = "Fehlerprobe {name}"
programme = "mim"
cohort = "mim-10"

[targets.nextcloud]
kind = "deck"
url = "{deck}"
user = "admin"
secret = {{ env = "FAULTS_DECK_PASSWORD" }}
audience = "council"

[targets.kalender]
kind = "caldav"
url = "{caldav}"
user = "connector"
secret = {{ env = "FAULTS_CALDAV_PASSWORD" }}
audience = "council"
uid_domain = "mentoring.example.org"

[targets.listen]
kind = "mailman"
url = "{mailman}"
user = "{mailman_user}"
secret = {{ env = "FAULTS_MAILMAN_PASSWORD" }}
audience = "council"

[[rules]]
name = "aufgaben"
entity = "task"
target = "nextcloud"

[rules.deck]
board = "Aufgaben {name}"
stacks = ["Offen", "Erledigt"]

[[rules.fields]]
remote = "title"
canonical = "title"
policy = "canonical"

[[rules.fields]]
remote = "description"
canonical = "notes"
policy = "canonical"

[[rules]]
name = "termine"
entity = "event"
target = "kalender"

[rules.calendar]
calendar = "faults-{name}"
display_name = "Termine {name}"

[[rules.fields]]
remote = "summary"
canonical = "title"
policy = "canonical"

[[rules.fields]]
remote = "location"
canonical = "location"
policy = "canonical"

[[rules.fields]]
remote = "start"
canonical = "start"
policy = "canonical"

[[rules.fields]]
remote = "end"
canonical = "end"
policy = "canonical"

[[rules]]
name = "liste"
entity = "person"
target = "listen"
filter = {{ roles = ["mentee"], consent_lists = true }}
key = "email"
on_remote_delete = "opt_out"

[rules.list]
address = "faults-{name}@mentoring.example.org"
display_name = "Fehlerprobe {name}"

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
store = "{store}"
mappings = ["mapping.toml"]

[sync]
interval = 1
"""


@dataclass
class Servers:
    deck: DeckServer
    radicale: CalendarServer
    mailman: MailmanInstance

    def env(self) -> dict[str, str]:
        """The secrets' environment variables."""
        return {
            "FAULTS_DECK_PASSWORD": "pw",
            "FAULTS_CALDAV_PASSWORD": self.radicale.password or "x",
            "FAULTS_MAILMAN_PASSWORD": self.mailman.password,
        }


def write_folder(
    folder: Path, name: str, servers: Servers, urls: dict[str, str], store: Path
) -> Path:
    """A working folder (connector.toml + mapping.toml) reaching the platforms at ``urls``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "connector.toml").write_text(CONFIG.format(store=store), encoding="utf-8")
    text = MAPPING.format(name=name, mailman_user=servers.mailman.user, **urls)
    (folder / "mapping.toml").write_text(text, encoding="utf-8")
    return folder / "connector.toml"


def direct_urls(servers: Servers) -> dict[str, str]:
    return {
        "deck": servers.deck.url,
        "caldav": servers.radicale.url,
        "mailman": servers.mailman.url,
    }


def populate(store: Store) -> None:
    """One cohort: tasks, events, mentees."""
    store.put(Organisation(uid="org-a", name="Stadt A", short_name="A", org_kind="Stadt"))
    store.put(
        Cohort(
            uid=COHORT,
            programme="mim",
            number=10,
            title="Durchgang 10",
            period_start=datetime(2025, 9, 1).date(),
            period_end=datetime(2027, 6, 30).date(),
            organisations=["org-a"],
        )
    )
    for i in range(TASKS):
        store.put(Task(uid=f"task-{i}", cohort=COHORT, title=f"Aufgabe {i}", notes=f"n{i}"))
    start = datetime(2026, 5, 4, 10, 0, tzinfo=BERLIN)
    for i in range(EVENTS):
        begins = start + timedelta(days=7 * i)
        store.put(
            Event(
                uid=f"event-{i}",
                cohort=COHORT,
                event_kind=EventKind("council_meeting"),
                title=f"Termin {i}",
                start=begins,
                end=begins + timedelta(hours=2),
                location=f"Raum {i}",
            )
        )
    for i in range(PEOPLE):
        store.put(
            Person(
                uid=f"p-{i}",
                given_name=f"Vorname{i}",
                family_name=f"Nachname{i}",
                email=f"person{i}@a.example",
                organisation="org-a",
                roles={"mentee"},
                cohorts={COHORT},
                consent_lists=True,
            )
        )


@dataclass
class Expected:
    """What both sides must hold once everything went through."""

    task_titles: dict[str, str] = field(default_factory=dict)
    event_locations: dict[str, str] = field(default_factory=dict)
    given_names: dict[str, str] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)


class World:
    """The store, the two configurations, and a person acting on each platform."""

    def __init__(self, folder: Path, name: str, servers: Servers, proxied: dict[str, str]):
        self.name, self.servers = name, servers
        self.store_path = folder / "cohort.db"
        direct = direct_urls(servers)
        self.direct = write_folder(folder / "direct", name, servers, direct, self.store_path)
        self.faulty = write_folder(folder / "faulty", name, servers, proxied, self.store_path)
        with Store.open(self.store_path) as store:
            populate(store)
        self.expected = Expected()
        with Store.open(self.store_path) as store:
            for e in store.entities("task"):
                assert isinstance(e, Task)
                self.expected.task_titles[e.uid] = e.title
            for e in store.entities("event"):
                assert isinstance(e, Event)
                self.expected.event_locations[e.uid] = e.location
            for e in store.entities("person"):
                assert isinstance(e, Person)
                self.expected.given_names[e.uid] = e.given_name
        self.edits = 0
        self._runs: dict[Path, Run] = {}
        self._open = ExitStack()

    def close(self) -> None:
        """Close the runs' connections and stores."""
        self._open.close()
        self._runs.clear()

    # -- passes ---------------------------------------------------------------------------

    def run(self, config: Path) -> Run:
        """The engines of ``config``, kept from pass to pass as the daemon keeps them."""
        if config not in self._runs:
            store = Store.open(self.store_path, create=False)
            run = prepare(resolve_config(config), store, secret=self._secret)
            self._runs[config] = self._open.enter_context(run)
        return self._runs[config]

    def _secret(self, spec: Any) -> str:
        return self.servers.env()[spec.secret.env]

    def sync(self, *, faulty: bool) -> list[RuleResult]:
        return self.run(self.faulty if faulty else self.direct).sync()

    def leftovers(self) -> dict[str, set[str]]:
        """Per rule, the records a clean pass would still write (a plan over direct URLs)."""
        results = self.run(self.direct).plan()
        found: dict[str, set[str]] = {}
        for result in results:
            assert result.error is None, result.summary()
            assert result.plan is not None
            found[result.rule] = {str(i.uid or i.remote_id) for i in result.plan.items if i.writes}
        return found

    # -- a person at work -----------------------------------------------------------------

    def targets(self) -> tuple[Run, dict[str, Target]]:
        run = self.run(self.direct)
        return run, run.engines[0].targets

    def collection(self, run: Run, rule_name: str) -> Collection:
        from sync.catalog import Catalog

        engine = run.engines[0]
        [rule] = [r for r in engine.mapping.rules if r.name == rule_name]
        return engine.collection(rule, Catalog.load(run.store))

    def remote(self, rule_name: str) -> list[RemoteRecord]:
        run, targets = self.targets()
        engine = run.engines[0]
        [rule] = [r for r in engine.mapping.rules if r.name == rule_name]
        return targets[rule.target].changes(self.collection(run, rule_name), None).records

    def random_edits(self, rng: random.Random) -> None:
        """One edit in the store and one on a platform, on records only that side edits."""
        self.edits += 1
        n = self.edits
        with Store.open(self.store_path, create=False) as store:
            kind = rng.choice(["task", "event", "person"])
            if kind == "task":
                uid = f"task-{rng.randrange(0, TASKS, 2)}"
                entity = store.get(uid)
                assert entity is not None
                store.put(entity.touched(title=f"Aufgabe {uid} v{n}"))
                self.expected.task_titles[uid] = f"Aufgabe {uid} v{n}"
            elif kind == "event":
                uid = f"event-{rng.randrange(0, EVENTS, 2)}"
                entity = store.get(uid)
                assert entity is not None
                store.put(entity.touched(location=f"Raum {uid} v{n}"))
                self.expected.event_locations[uid] = f"Raum {uid} v{n}"
            else:
                uid = f"p-{rng.randrange(0, PEOPLE // 2)}"
                entity = store.get(uid)
                assert entity is not None
                store.put(entity.touched(given_name=f"Vorname{uid[2:]}v{n}"))
                self.expected.given_names[uid] = f"Vorname{uid[2:]}v{n}"
        self._remote_edit(rng, n)

    def _remote_edit(self, rng: random.Random, n: int) -> None:
        run, targets = self.targets()
        kind = rng.choice(["task", "event", "person"])
        rule = {"task": "aufgaben", "event": "termine", "person": "liste"}[kind]
        collection = self.collection(run, rule)
        links = run.store.links(f"{COHORT}:{rule}")
        if kind == "task":
            uid = f"task-{rng.randrange(1, TASKS, 2)}"
            if uid not in links:
                return
            value = f"Aufgabe {uid} remote v{n}"
            targets["nextcloud"].update(collection, links[uid].remote_id, {"title": value}, None)
            self.expected.task_titles[uid] = value
        elif kind == "event":
            uid = f"event-{rng.randrange(1, EVENTS, 2)}"
            if uid not in links:
                return
            value = f"Raum {uid} remote v{n}"
            targets["kalender"].update(collection, links[uid].remote_id, {"location": value}, None)
            self.expected.event_locations[uid] = value
        else:
            uid = f"p-{rng.randrange(PEOPLE // 2, PEOPLE)}"
            if uid not in links or uid in self.expected.opted_out:
                return
            targets["listen"].delete(collection, links[uid].remote_id, None)
            self.expected.opted_out.add(uid)

    # -- the verdict ----------------------------------------------------------------------

    def assert_converged(self) -> None:
        """Nothing lost, no duplicate, both sides as expected, the journal empty."""
        with Store.open(self.store_path, create=False) as store:
            assert store.journal() == [], store.journal()
            tasks = {e.uid: e for e in store.entities("task")}
            events = {e.uid: e for e in store.entities("event")}
            people = {e.uid: e for e in store.entities("person")}
        assert {u: t.title for u, t in tasks.items()} == self.expected.task_titles  # type: ignore[attr-defined]
        assert {u: e.location for u, e in events.items()} == self.expected.event_locations  # type: ignore[attr-defined]
        assert {u: p.given_name for u, p in people.items()} == self.expected.given_names  # type: ignore[attr-defined]
        list_name = f"faults-{self.name}@mentoring.example.org"
        assert {u for u, p in people.items() if list_name in p.opt_outs} == self.expected.opted_out  # type: ignore[attr-defined]

        cards = self.remote("aufgaben")
        markers = [c.marker for c in cards]
        assert len(markers) == len(set(markers)) == TASKS, markers  # no duplicate, none lost
        assert {c.marker: c.fields["title"] for c in cards} == self.expected.task_titles
        appointments = self.remote("termine")
        markers = [a.marker for a in appointments]
        assert len(markers) == len(set(markers)) == EVENTS, markers
        assert {a.marker: a.fields["location"] for a in appointments} == (
            self.expected.event_locations
        )
        members = self.remote("liste")
        emails = sorted(str(m.fields["email"]) for m in members)
        wanted = sorted(
            str(p.email)  # type: ignore[attr-defined]
            for u, p in people.items()
            if u not in self.expected.opted_out
        )
        assert emails == wanted
        names = {str(m.fields["email"]): m.fields["display_name"] for m in members}
        for uid, person in people.items():
            if uid not in self.expected.opted_out:
                assert (
                    names[str(person.email)]
                    == f"{self.expected.given_names[uid]} Nachname{uid[2:]}"
                )  # type: ignore[attr-defined]
