"""The engine as ``connector sync`` wires it, on the shipped mapping, against random edits.

A hypothesis state machine builds its engines with :func:`sync.factory.build_engine` (the
runner's domain consequences and checks included) on the shipped mapping of Mentoring im
Münsterland — applications with a status value map and organisation labels, tasks with
assignees and due dates, tandems, the two calendars, the seven mailing lists — whose three
targets are memory targets. Between passes it edits the store (directly and through the
real importer), the boards, calendars and lists; it runs passes that crash after a write,
meet an outage or a 429 (``RetryLater``), and passes during which a second writer changes
the store between the pull and the apply; it changes scopes (an event's audience, an
application's selection), lets people leave lists, names a tandem's partners in an event
and lets the reveal date pass.

Expected values come from the machine's own log of what it edited, never from the store.
After every run of quiet passes: no canonical value changed unless someone changed it, no
duplicates, every edit applied or parked as a conflict, opt-outs never undone, and nothing
naming a pair on a non-council target before the reveal date.

Some scenarios depend on fixes made on other branches of issue 10; each is behind a module
constant, off until those branches are merged (the lead turns them on): ``PARTIAL_CREATES``
(finding 1: creates in several requests failing between them), ``COPIED_RECORDS``
(finding 5: a card copied with its marker) and ``EMPTY_CELL_REIMPORTS`` (finding 3: a
re-import with an empty cell, which must keep the stored value).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from connector.base import Changes, Collection, RemoteRecord
from connector.errors import InputError, RecordRejected, RetryLater
from connector.memory import MemoryTarget, SimulatedCrash
from mappings.schema import MappingFile, collection_name
from sync import integrity
from sync.catalog import Catalog
from sync.config import Config
from sync.engine import SCOPE_MIN, Engine, Options
from sync.errors import GuardTripped
from sync.factory import build_engine
from sync.importer import import_file
from sync.model import (
    BERLIN,
    Application,
    ApplicationStatus,
    Audience,
    Cohort,
    Entity,
    Event,
    Organisation,
    Person,
    Programme,
    Role,
    Tandem,
    Task,
)
from sync.runner import load_mappings
from sync.scope import names_a_pair, secret_pairs
from sync.store import Store
from tests.shipped import shipped_text, write_shipped

#: Finding 1 (branch i10-engine): creates that take several requests and fail between them.
PARTIAL_CREATES = True
#: Finding 5 (branch i10-engine): a council member copies a card, marker included.
COPIED_RECORDS = True
#: Finding 3 (branch i10-import): a re-import whose empty cells keep the stored values.
EMPTY_CELL_REIMPORTS = True

BEFORE, REVEAL = date(2026, 1, 10), date(2026, 1, 22)
COHORT = "mim-10"
#: A later cohort the shipped mapping has no rules for: rows about it must leave 10 alone.
LATER = "mim-11"
DECK, CALENDAR, LISTS = "memory://nextcloud", "memory://kalender", "memory://listen"
TASKS, APPLICATIONS = "Mentoring 10 – Aufgaben", "Mentoring 10 – Beirat"
STATUS_LABEL = {
    "received": "Bewerbungen",
    "presented": "Vorgestellt",
    "selected": "Ausgewählt",
    "declined": "Abgelehnt",
    "withdrawn": "Zurückgezogen",
}
PEOPLE = {
    # uid: given, family, organisation, roles, regional group, Nextcloud user
    "p-anna": ("Anna", "Alt", "org-greven", {Role.MENTEE}, "Nord", None),
    "p-bernd": ("Bernd", "Berg", "org-rheine", {Role.MENTOR}, None, None),
    "p-cora": ("Cora", "Cäsar", "org-greven", {Role.COUNCIL}, None, "beirat-cora"),
    "p-dirk": ("Dirk", "Dörr", "org-rheine", set(), "Süd", None),
    "p-emil": ("Emil", "Esser", "org-rheine", {Role.COUNCIL}, None, "beirat-emil"),
}
TITLES = ["Raum buchen", "Catering", "Einladung", "Protokoll", "Budget"]
PLACES = ["Rathaus Greven", "Kreishaus", "online", ""]


_SHIPPED: list[MappingFile] = []
_RAM = "/dev/shm" if Path("/dev/shm").is_dir() else None


_MISTAKES: dict[str, MappingFile] = {}


def mistaken_mapping(mistake: str) -> MappingFile:
    """The shipped mapping with a mistake that passes its checks: a typo in the cohort
    (``"cohort"``: ``mim-1O``), or the council list's filter on consent flipped
    (``"filter"``)."""
    if mistake not in _MISTAKES:
        folder = Path(tempfile.mkdtemp(prefix="sm-mistake-"))
        path = folder / "mapping.toml"
        if mistake == "cohort":
            text = shipped_text(cohort="mim-1O")
        else:
            council = 'filter = { roles = ["council"], consent_lists = true }'
            text = shipped_text()
            assert council in text
            text = text.replace(council, council.replace("true", "false"))
        path.write_text(text, encoding="utf-8")
        _MISTAKES[mistake] = load_mappings(Config(store=folder / "x", mappings=[path]))[0]
        shutil.rmtree(folder, ignore_errors=True)
    return _MISTAKES[mistake]


def shipped_mapping() -> MappingFile:
    """The shipped mapping on memory targets, loaded (and checked) once."""
    if not _SHIPPED:
        folder = Path(tempfile.mkdtemp(prefix="sm-mapping-"))
        path = write_shipped(folder / "mapping.toml")
        _SHIPPED.append(load_mappings(Config(store=folder / "x", mappings=[path]))[0])
        shutil.rmtree(folder, ignore_errors=True)
    return _SHIPPED[0]


class Platform(MemoryTarget):
    """A memory target with the faults of real platforms.

    Creates can take several requests, like a Deck card (POST, then one request per label
    and assignee), and a fault may strike between them: ``cut`` = (how, n, step) cuts the
    n-th such create of a pass after its POST (step 0) or after its step-th later request,
    the process dying there (``"kill"``) or the platform refusing the next request
    (``"refuse"``, Deck's 400 "The user is not part of the board"). ``throttle_at`` answers
    the n-th call with a 429 (``RetryLater``); ``on_pull`` lets a second writer in right
    after a collection was pulled.
    """

    stepwise: ClassVar[bool] = False

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.throttle_at: int | None = None
        self.on_pull: Callable[[], None] | None = None
        self.calls = 0
        self.cut: tuple[str, int, int] | None = None
        self.creates = 0

    def _call(self) -> None:
        super()._call()
        self.calls += 1
        if self.throttle_at is not None and self.calls == self.throttle_at:
            raise RetryLater(f"memory://{self.name}: 429 Too Many Requests", retry_after=1)

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        pulled = super().changes(collection, cursor)
        hook, self.on_pull = self.on_pull, None
        if hook is not None:
            hook()
        return pulled

    def create(self, collection: Collection, uid: str, fields: Any) -> RemoteRecord:
        if not self.stepwise:
            return super().create(collection, uid, fields)
        later = [(k, fields[k]) for k in ("labels", "assignees") if fields.get(k)]
        record = super().create(
            collection, uid, {k: v for k, v in fields.items() if k not in dict(later)}
        )
        cut_after = None
        if later and self.cut is not None:
            self.creates += 1
            _how, nth, step = self.cut
            if self.creates == nth:
                cut_after = min(step, len(later) - 1)
        for done, (name, value) in enumerate(later):
            if done == cut_after:
                self.cut_here()
            record = super().update(collection, record.remote_id, {name: value}, None)
        return record

    def cut_here(self) -> None:
        """The fault ``cut`` names strikes between two requests of a create."""
        assert self.cut is not None
        how = self.cut[0]
        self.cut = None
        if how == "kill":
            raise SimulatedCrash("killed between the requests of a create")
        raise RecordRejected(f"memory://{self.name}: 400 The user is not part of the board")


@dataclass
class Expected:
    """The machine's own record of what the canonical data must be."""

    #: (uid, attribute) → the value the machine last knew it to have.
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: (uid, attribute) → values someone set since the last check (any may win).
    edits: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    #: (person uid, list collection) of people who left a list.
    opted_out: set[tuple[str, str]] = field(default_factory=set)

    def edit(self, uid: str, attribute: str, value: Any) -> None:
        self.edits.setdefault((uid, attribute), []).append(value)


MODELLED: dict[str, tuple[str, ...]] = {
    "task": ("title", "done", "due", "assignee", "notes"),
    "application": ("status",),
    "event": ("title", "location", "audience"),
    "person": (
        "organisation",
        "email",
        "given_name",
        "family_name",
        "consent_lists",
        "regional_group",
    ),
}
#: The people whose roles in cohort 10 only an office's decision on an application changes.
APPLICANTS = {"p-anna", "p-dirk"}
#: The shipped lists' filters, as the machine reads them: roles in cohort 10 (any of), the
#: regional group, and consent (people who left a list stay off it).
LIST_FILTERS: dict[str, tuple[set[Role], str | None]] = {
    "liste-mentees": ({Role.MENTEE}, None),
    "liste-mentoren": ({Role.MENTOR}, None),
    "liste-beirat": ({Role.COUNCIL}, None),
    "liste-alle": ({Role.MENTEE, Role.MENTOR}, None),
    "regionalgruppe-nord": ({Role.MENTEE}, "Nord"),
    "regionalgruppe-sued": ({Role.MENTEE}, "Süd"),
    "regionalgruppe-west": ({Role.MENTEE}, "West"),
}
#: The people columns of an office's file (the real importer reads them).
PEOPLE_COLUMNS = (
    "Vorname,Nachname,E-Mail,Kommune,Rollen,Durchgang,Regionalgruppe,"
    "Einwilligung Verteiler,Abgemeldet"
)


class ShippedMachine(RuleBasedStateMachine):
    """The shipped mapping, three platforms and a store, edited at random."""

    def __init__(self) -> None:
        super().__init__()
        MemoryTarget.reset()
        Platform.stepwise = False
        # On a RAM disk where there is one: hundreds of short-lived stores.
        self.dir = Path(tempfile.mkdtemp(prefix="sm-shipped-", dir=_RAM))
        self.store = Store.open(self.dir / "cohort.db")
        self.mapping = shipped_mapping()
        self.targets = {name: Platform(spec.url) for name, spec in self.mapping.targets.items()}
        self.today = BEFORE
        self.expected = Expected()
        self.counter = 0
        self.uids = 0
        self.hand_cards: dict[str, dict[str, Any]] = {}
        #: Cards copied on the board (marker included), by id: never the connector's to delete.
        self.copies: set[str] = set()
        #: Copies left alone that a pass already reported.
        self.reported: set[str] = set()
        #: Cards whose due someone set to a time of the same day (card id -> (task, value)).
        self.fine_dues: dict[str, tuple[str, str]] = {}
        #: Every card due set so (card id -> value): the board holds the date its finer way.
        self.finer: dict[str, str] = {}
        #: Markers of the records before a mistaken pass ((rule, record id) -> marker).
        self.markers: dict[tuple[str, str], str | None] = {}
        #: The notes of every pass since the last quiet ones were checked (a copy left alone
        #: is reported by the pass that first lists it, whichever rule ran that pass).
        self.notes: list[str] = []
        #: Each person's roles in cohort 10 as the machine made them (applicants aside).
        self.roles_10: dict[str, set[Role]] = {}
        #: The roles rows about the later cohort gave (person uid -> roles there).
        self.roles_later: dict[str, set[Role]] = {}
        #: The problems the last quiet pass reported (edits refused by domain checks).
        self.problems: list[str] = []

    def next_uid(self, kind: str) -> str:
        self.uids += 1
        return f"{kind}-made-{self.uids}"

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def engine(self, allow: frozenset[str] = frozenset()) -> Engine:
        return build_engine(
            self.store,
            self.mapping,
            dict(self.targets),
            Options(today=self.today, allow_mass_delete=allow),
            uids=self.next_uid,
        )

    # -- the cohort ---------------------------------------------------------------------

    @initialize()
    def cohort(self) -> None:
        put = self.put_known
        for uid, short in (("org-greven", "Greven"), ("org-rheine", "Rheine")):
            self.store.put(
                Organisation(uid=uid, name=f"Stadt {short}", short_name=short, org_kind="Stadt")
            )
        self.store.put(Programme(uid="mim", name="Mentoring", programme_kind="mentoring"))
        self.store.put(
            Cohort(
                uid=LATER,
                programme="mim",
                number=11,
                title="Mentoring 11",
                period_start=date(2027, 3, 1),
                period_end=date(2028, 12, 31),
                organisations=["org-greven", "org-rheine"],
            )
        )
        self.store.put(
            Cohort(
                uid=COHORT,
                programme="mim",
                number=10,
                title="Mentoring 10",
                period_start=date(2025, 3, 1),
                period_end=date(2026, 12, 31),
                reveal_on=REVEAL,
                organisations=["org-greven", "org-rheine"],
                council=["p-cora", "p-emil"],
            )
        )
        for uid, (given, family, org, roles, group, user) in PEOPLE.items():
            self.roles_10[uid] = set(roles)
            put(
                Person(
                    uid=uid,
                    given_name=given,
                    family_name=family,
                    email=f"{given.lower()}@{org}.example",
                    organisation=org,
                    roles=roles,
                    cohorts={COHORT} if roles else set(),
                    regional_group=group,
                    deck_user=user,
                    consent_lists=True,
                )
            )
        put(Application(uid="app-anna", cohort=COHORT, applicant="p-anna", status="selected"))
        put(Application(uid="app-dirk", cohort=COHORT, applicant="p-dirk", status="received"))
        self.store.put(
            Tandem(
                uid="t-1",
                cohort=COHORT,
                mentee="p-anna",
                mentor="p-bernd",
                matched_on=date(2025, 12, 1),
            )
        )
        for i, title in enumerate(TITLES[:2]):
            put(
                Task(
                    uid=f"task-{i}",
                    cohort=COHORT,
                    title=title,
                    assignee="p-cora",
                    due=date(2026, 2, 1 + i),
                )
            )
        for i, (kind, audience) in enumerate(
            (("info_event", "participants"), ("council_meeting", "council"))
        ):
            start = datetime(2026, 3, 2 + i, 16, tzinfo=BERLIN)
            put(
                Event(
                    uid=f"ev-{i}",
                    cohort=COHORT,
                    event_kind=kind,
                    title=f"Termin {i}",
                    start=start,
                    end=start + timedelta(hours=2),
                    audience={audience},
                )
            )

    def put_known(self, entity: Entity) -> None:
        """Store an entity the machine made, and remember its values as expected."""
        self.store.put(entity)
        for attribute in MODELLED.get(entity.kind, ()):
            self.expected.values[(entity.uid, attribute)] = getattr(entity, attribute)

    # -- helpers ------------------------------------------------------------------------

    def live(self, kind: str) -> list[Entity]:
        return [e for e in self.store.entities(kind) if e.uid not in self.expected.deleted]

    def canonical_edit(self, entity: Entity, attribute: str, value: Any) -> None:
        """An office edits the store (with the domain's consequences, as an import does),
        unless the import's checks would refuse the edit (a declined mentee's tandem)."""
        self.counter += 1
        changed = entity.touched(**{attribute: value})
        overlay = integrity.Overlay(Catalog.load(self.store))
        overlay.put(changed)
        follow_ups = integrity.consequences(changed, overlay)
        for follow_up in follow_ups:
            overlay.put(follow_up)
        refused = integrity.check(changed, overlay) + [
            problem
            for person in follow_ups
            if isinstance(person, Person)
            for problem in integrity.check_partners(person, overlay)
        ]
        if refused:
            return  # `connector import` refuses such a file: the store keeps its values
        self.store.put(changed)
        for follow_up in follow_ups:
            self.store.put(follow_up)
        self.expected.edit(entity.uid, attribute, value)

    def linked_record(self, rule: str, uid: str) -> tuple[Platform, str, str] | None:
        spec = next(r for r in self.mapping.rules if r.name == rule)
        link = self.store.links(f"{COHORT}:{rule}").get(uid)
        target = self.targets[spec.target]
        name = collection_name(spec)
        if link is None or link.remote_id not in target.records(name):
            return None
        return target, name, link.remote_id

    def remote_edit(
        self, rule: str, entity: Entity, attribute: str, value: Any, owner: Entity | None = None
    ) -> None:
        """A person on the platform changes the field mapped to ``attribute`` (of ``entity``,
        reached from the record of ``owner``) so that it means ``value``, rendered by the
        rule's own codec."""
        owner = owner or entity
        found = self.linked_record(rule, owner.uid)
        if found is None:
            return
        target, name, remote_id = found
        catalog = Catalog.load(self.store)
        changed = entity.touched(**{attribute: value})
        catalog.put(changed)
        view = self.engine().views[rule]
        for codec in view.codecs.values():
            path = codec.spec.canonical or ""
            if path.rsplit(".", 1)[-1] != attribute or codec.spec.direction == "out":
                continue
            record = target.records(name)[remote_id]
            rendered = codec.render(catalog.get(owner.uid) or owner, catalog, tandems=True)
            full = codec.merge_into(record.fields.get(codec.spec.remote), rendered, catalog)
            target.edit(name, remote_id, **{codec.spec.remote: full})
            self.expected.edit(entity.uid, attribute, value)

    # -- canonical side -----------------------------------------------------------------

    @precondition(lambda self: bool(self.live("task")))
    @rule(data=st.data(), attribute=st.sampled_from(["title", "done", "due", "assignee", "notes"]))
    def edit_task(self, data: st.DataObject, attribute: str) -> None:
        task = data.draw(st.sampled_from(self.live("task")))
        assert isinstance(task, Task)
        value: Any = {
            "title": f"{data.draw(st.sampled_from(TITLES))} c{self.counter}",
            "done": not task.done,
            "due": date(2026, 4, 1) + timedelta(days=self.counter),
            "assignee": "p-emil" if task.assignee == "p-cora" else "p-cora",
            "notes": f"Notiz {self.counter}",
        }[attribute]
        self.canonical_edit(task, attribute, value)

    @rule(title=st.sampled_from(TITLES), who=st.sampled_from(["p-cora", "p-emil"]))
    def new_task(self, title: str, who: str) -> None:
        """The council gets a new task (created on the board by the next pass)."""
        self.counter += 1
        self.put_known(
            Task(
                uid=f"task-new-{self.counter}",
                cohort=COHORT,
                title=f"{title} n{self.counter}",
                assignee=who,
                due=date(2026, 7, 1) + timedelta(days=self.counter),
            )
        )

    @rule(
        status=st.sampled_from(sorted(STATUS_LABEL)), who=st.sampled_from(["app-anna", "app-dirk"])
    )
    def decide_application(self, status: str, who: str) -> None:
        application = self.store.get(who)
        assert isinstance(application, Application)
        if application.status != status:
            self.canonical_edit(application, "status", ApplicationStatus(status))

    @rule(data=st.data(), attribute=st.sampled_from(["title", "location", "audience", "pair"]))
    def edit_event(self, data: st.DataObject, attribute: str) -> None:
        event = data.draw(st.sampled_from(self.live("event")))
        assert isinstance(event, Event)
        if attribute == "audience":  # a scope change: the event moves between calendars
            moved = (
                {Audience.COUNCIL}
                if Audience.PARTICIPANTS in event.audience
                else {Audience.PARTICIPANTS}
            )
            self.canonical_edit(event, "audience", moved)
        elif attribute == "pair":  # the title names both partners of the secret tandem
            self.canonical_edit(
                event, "title", f"Hospitation ANNA ALT bei Bernd Berg {self.counter}"
            )
        elif attribute == "title":
            self.canonical_edit(event, "title", f"Treffen {self.counter}")
        else:
            self.canonical_edit(event, "location", data.draw(st.sampled_from(PLACES)))

    @rule(data=st.data())
    def reimport_task(self, data: st.DataObject) -> None:
        """The office re-imports one task with a new due date (the real importer)."""
        tasks = [t for t in self.live("task") if isinstance(t, Task)]
        if tasks:
            self.import_due(data.draw(st.sampled_from(tasks)))

    def import_due(self, task: Task) -> None:
        current = self.store.get(task.uid)
        if not isinstance(current, Task):
            return
        task = current
        self.counter += 1
        due = date(2026, 5, 1) + timedelta(days=self.counter)
        assignee = self.store.get(task.assignee or "")
        who = assignee.email if isinstance(assignee, Person) else ""
        if not who and not EMPTY_CELL_REIMPORTS:
            return  # an empty cell: its meaning changes with finding 3
        csv = self.dir / f"tasks-{self.counter}.csv"
        csv.write_text(
            "Durchgang,Aufgabe,Zuständig,Fällig,Erledigt,Notizen\n"
            f"{COHORT},{task.title},{who},{due:%d.%m.%Y},{'ja' if task.done else 'nein'},"
            f"{task.notes}\n",
            encoding="utf-8",
        )
        import_file(self.store, "tasks", csv)
        self.expected.edit(task.uid, "due", due)

    @precondition(lambda self: bool(self.live("task")))
    @rule(data=st.data())
    def delete_task(self, data: st.DataObject) -> None:
        task = data.draw(st.sampled_from(self.live("task")))
        self.store.tombstone(task.uid)
        self.expected.deleted.add(task.uid)

    @rule(
        who=st.sampled_from(sorted(PEOPLE)),
        later=st.sampled_from([None, "Mentor", "Mentee"]),
        leaves=st.sampled_from([None, "liste-alle", "liste-beirat"]),
    )
    def reimport_person(self, who: str, later: str | None, leaves: str | None) -> None:
        """The office re-imports a person's row, its cells empty where the office does not
        know (Kommune, Regionalgruppe, Einwilligung Verteiler, Abgemeldet), or a row about
        the later cohort, or one naming a list the person left (finding 3): an empty cell
        keeps what is stored, an opt-out is only ever added, and a row about cohort 11
        leaves cohort 10's roles (and lists) alone."""
        person = self.store.get(who)
        assert isinstance(person, Person)
        given = self.expected.values[(who, "given_name")]
        family = self.expected.values[(who, "family_name")]
        email = self.expected.values[(who, "email")]
        roles, cohort = (later, LATER) if later else ("", "")
        left = ""
        if leaves is not None:
            left = collection_name(next(r for r in self.mapping.rules if r.name == leaves))
            self.expected.opted_out.add((who, left))
        self.counter += 1
        csv = self.dir / f"people-{self.counter}.csv"
        csv.write_text(
            f"{PEOPLE_COLUMNS}\n{given},{family},{email},,{roles},{cohort},,,{left}\n",
            encoding="utf-8",
        )
        import_file(self.store, "people", csv)
        if later:
            self.roles_later[who] = {Role.MENTOR if later == "Mentor" else Role.MENTEE}

    @rule(role=st.sampled_from(["Mentee", "Mentor"]), consent=st.sampled_from(["", "ja", "nein"]))
    def import_new_person(self, role: str, consent: str) -> None:
        """The office imports someone new to the store, a participant of cohort 10 (finding
        3): an empty consent cell means *no* (consent is given, never assumed), so she
        reaches no list until she says yes. Her values come from the row as written."""
        self.counter += 1
        family = f"Neumann{self.counter}"
        email = f"nora.{family.lower()}@org-greven.example"
        csv = self.dir / f"people-{self.counter}.csv"
        csv.write_text(
            f"{PEOPLE_COLUMNS}\nNora,{family},{email},Greven,{role},{COHORT},,{consent},\n",
            encoding="utf-8",
        )
        import_file(self.store, "people", csv)
        (person,) = [p for p in self.store.entities("person") if getattr(p, "email", "") == email]
        said = {
            "organisation": "org-greven",
            "email": email,
            "given_name": "Nora",
            "family_name": family,
            "consent_lists": consent == "ja",
            "regional_group": None,
        }
        for attribute, value in said.items():
            self.expected.values[(person.uid, attribute)] = value

    @rule(case=st.sampled_from([("p-anna", "org"), ("p-bernd", "org"), ("p-bernd", "council")]))
    def reimport_breaking_the_tandem(self, case: tuple[str, str]) -> None:
        """The office imports a people file that would break tandem t-1 (finding 3): one
        partner moved into the other's organisation (the point of cross-mentoring is that
        they come from different ones), or the mentor made council of the cohort instead
        (a row's roles for a cohort replace the roles stored for it; the mentee's selected
        application keeps her a mentee, so council is no break for her). Imports run the
        same tandem checks as every other writer: the file is refused, nothing stored."""
        who, how = case
        partner = self.store.get("p-bernd" if who == "p-anna" else "p-anna")
        assert isinstance(partner, Person)
        organisation = self.store.get(partner.organisation or "")
        assert isinstance(organisation, Organisation)
        given = self.expected.values[(who, "given_name")]
        family = self.expected.values[(who, "family_name")]
        email = self.expected.values[(who, "email")]
        cells = f"{organisation.short_name},," if how == "org" else f",Beirat,{COHORT}"
        self.counter += 1
        csv = self.dir / f"people-{self.counter}.csv"
        csv.write_text(f"{PEOPLE_COLUMNS}\n{given},{family},{email},{cells},,,\n", encoding="utf-8")
        before = [e.model_dump() for e in self.store.entities("person")]
        try:
            import_file(self.store, "people", csv)
        except InputError as exc:
            assert "nothing was imported" in str(exc), exc
        else:
            raise AssertionError(f"a people file breaking tandem t-1 ({how}) was imported")
        assert [e.model_dump() for e in self.store.entities("person")] == before

    @rule(who=st.sampled_from(sorted(PEOPLE)))
    def withdraw_consent(self, who: str) -> None:
        """Someone tells the office "nein" to the programme lists: they leave every list."""
        person = self.store.get(who)
        assert isinstance(person, Person)
        if person.consent_lists:
            self.canonical_edit(person, "consent_lists", False)

    @rule()
    def reveal_day_comes(self) -> None:
        self.today = REVEAL

    # -- the platforms ------------------------------------------------------------------

    @precondition(lambda self: bool(self.live("task")))
    @rule(data=st.data(), attribute=st.sampled_from(["title", "done", "due", "assignee", "notes"]))
    def edit_card(self, data: st.DataObject, attribute: str) -> None:
        task = data.draw(st.sampled_from(self.live("task")))
        assert isinstance(task, Task)
        self.counter += 1
        value: Any = {
            "title": f"{data.draw(st.sampled_from(TITLES))} r{self.counter}",
            "done": not task.done,
            "due": date(2026, 6, 1) + timedelta(days=self.counter),
            "assignee": "p-emil" if task.assignee == "p-cora" else "p-cora",
            "notes": f"Kommentar {self.counter}",
        }[attribute]
        self.remote_edit("beirat-aufgaben", task, attribute, value)

    @precondition(lambda self: bool(self.live("task")))
    @rule(data=st.data(), hour=st.integers(min_value=6, max_value=20))
    def set_due_time_on_card(self, data: st.DataObject, hour: int) -> None:
        """Someone gives a card's due a time of the same day (finding 7): the task's due (a
        date) cannot hold it, nobody changed the date, so nothing may be written back."""
        task = data.draw(st.sampled_from(self.live("task")))
        assert isinstance(task, Task)
        found = self.linked_record("beirat-aufgaben", task.uid)
        if found is None or task.due is None or (task.uid, "due") in self.expected.edits:
            return  # (a due edited since the last pass: the card's day is not the task's)
        target, name, remote_id = found
        at = datetime(task.due.year, task.due.month, task.due.day, hour, tzinfo=BERLIN)
        value = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        target.edit(name, remote_id, due=value)
        self.fine_dues[remote_id] = (task.uid, value)
        self.finer[remote_id] = value

    @rule(
        status=st.sampled_from(sorted(STATUS_LABEL)), who=st.sampled_from(["app-anna", "app-dirk"])
    )
    def move_application_card(self, status: str, who: str) -> None:
        application = self.store.get(who)
        assert isinstance(application, Application)
        self.remote_edit("bewerbungen", application, "status", ApplicationStatus(status))

    @rule(
        who=st.sampled_from(["app-anna", "app-dirk"]),
        org=st.sampled_from(["org-greven", "org-rheine"]),
    )
    def relabel_application_card(self, who: str, org: str) -> None:
        """The council relabels a card: the applicant's organisation (a lookup) follows,
        unless a domain check refuses it (a tandem's partners are never colleagues)."""
        application = self.store.get(who)
        assert isinstance(application, Application)
        person = self.store.get(application.applicant)
        assert person is not None
        self.remote_edit("bewerbungen", person, "organisation", org, owner=application)

    @rule(data=st.data(), attribute=st.sampled_from(["title", "location"]))
    def edit_calendar_event(self, data: st.DataObject, attribute: str) -> None:
        event = data.draw(st.sampled_from(self.live("event")))
        assert isinstance(event, Event)
        self.counter += 1
        value = f"Umbenannt {self.counter}" if attribute == "title" else "Rathaus Rheine"
        for rule_name in ("fahrplan", "beirat-termine"):
            self.remote_edit(rule_name, event, attribute, value)

    @rule(data=st.data())
    def delete_card(self, data: st.DataObject) -> None:
        """A task card deleted on the board: the rule tombstones the task."""
        tasks = self.live("task")
        if tasks:
            task = data.draw(st.sampled_from(tasks))
            found = self.linked_record("beirat-aufgaben", task.uid)
            if found is not None:
                target, name, remote_id = found
                target.remove(name, remote_id)
                self.expected.deleted.add(task.uid)

    @rule(title=st.sampled_from(TITLES))
    def add_card_by_hand(self, title: str) -> None:
        self.counter += 1
        text = f"{title} h{self.counter}"
        remote_id = self.targets["nextcloud"].add(
            TASKS, {"title": text, "stack": "Offen", "description": "", "labels": []}
        )
        self.hand_cards[remote_id] = {"title": text, "done": False, "notes": ""}

    @precondition(lambda self: COPIED_RECORDS)
    @rule(data=st.data())
    def copy_card(self, data: st.DataObject) -> None:
        deck = self.targets["nextcloud"]
        records = deck.records(TASKS)
        if records:
            source = data.draw(st.sampled_from(sorted(records)))
            original = records[source]
            self.counter += 1
            copied = {**original.fields, "title": f"Kopie {self.counter}"}
            remote_id = deck.add(TASKS, copied, marker=original.marker)
            if source in self.finer and copied.get("due") == self.finer[source]:
                self.finer[remote_id] = self.finer[source]  # the copy holds the finer due too
            self.hand_cards[remote_id] = {"title": copied["title"]}
            self.copies.add(remote_id)

    @rule(
        data=st.data(), rule_name=st.sampled_from(["liste-mentees", "liste-alle", "liste-beirat"])
    )
    def leave_list(self, data: st.DataObject, rule_name: str) -> None:
        spec = next(r for r in self.mapping.rules if r.name == rule_name)
        name = collection_name(spec)
        links = self.store.links(f"{COHORT}:{rule_name}")
        members = self.targets["listen"].records(name)
        linked = sorted(uid for uid, link in links.items() if link.remote_id in members)
        if linked:
            uid = data.draw(st.sampled_from(linked))
            self.targets["listen"].remove(name, links[uid].remote_id)
            self.expected.opted_out.add((uid, name))

    # -- passes -------------------------------------------------------------------------

    @rule(
        side=st.sampled_from(["nextcloud", "kalender", "listen"]),
        fault=st.sampled_from(["crash", "outage", "throttle"]),
        at=st.integers(min_value=1, max_value=12),
        stepwise=st.booleans(),
    )
    def sync_with_fault(self, side: str, fault: str, at: int, stepwise: bool) -> None:
        target = self.targets[side]
        Platform.stepwise = stepwise and PARTIAL_CREATES
        writes = [0]

        def crash(op: str) -> bool:
            writes[0] += 1
            return writes[0] == at

        if fault == "crash":
            target.crash_after_write = crash
        elif fault == "outage":
            target.outage = True
        else:
            target.calls, target.throttle_at = 0, at
        try:
            self.run(self.engine())
        except SimulatedCrash:
            # The process died: reopen the store from disk, as a restarted daemon would.
            self.store.close()
            self.store = Store.open(self.dir / "cohort.db")
        finally:
            target.crash_after_write, target.outage, target.throttle_at = None, False, None
            Platform.stepwise = False
        self.check_embargo()  # whatever failed: nothing naming a pair has left

    @precondition(lambda self: PARTIAL_CREATES)
    @rule(
        how=st.sampled_from(["kill", "refuse"]),
        nth=st.integers(min_value=1, max_value=2),
        step=st.integers(min_value=0, max_value=1),
        title=st.sampled_from(TITLES),
        who=st.sampled_from(["p-cora", "p-emil"]),
    )
    def sync_with_a_cut_create(self, how: str, nth: int, step: int, title: str, who: str) -> None:
        """The council gets a new task, and the pass's n-th card create stops between its
        requests (finding 1): killed there, or the board refusing the label or assignee."""
        self.new_task(title, who)
        deck = self.targets["nextcloud"]
        Platform.stepwise = True
        deck.cut, deck.creates = (how, nth, step), 0
        try:
            self.run(self.engine())
        except SimulatedCrash:
            self.store.close()
            self.store = Store.open(self.dir / "cohort.db")
        finally:
            deck.cut = None
            Platform.stepwise = False
        self.check_embargo()

    @rule(mistake=st.sampled_from(["cohort", "filter"]))
    def sync_with_a_mapping_mistake(self, mistake: str) -> None:
        """A pass with a mistake in the mapping (finding 4): the deletions the connector
        would plan itself count towards the guard, so every collection holding at least
        SCOPE_MIN records stops (exit 6) and loses nothing."""
        before = {
            spec.name: set(self.targets[spec.target].records(collection_name(spec)))
            for spec in self.mapping.rules
        }
        self.markers = {
            (spec.name, i): r.marker
            for spec in self.mapping.rules
            for i, r in self.targets[spec.target].records(collection_name(spec)).items()
        }
        engine = build_engine(
            self.store,
            mistaken_mapping(mistake),
            dict(self.targets),
            Options(today=self.today),
            uids=self.next_uid,
        )
        self.run(engine)
        for spec in self.mapping.rules:
            records = self.targets[spec.target].records(collection_name(spec))
            now = set(records)
            # Records of entities someone deleted may go (that deletion is legitimate).
            now |= {
                i
                for i in before[spec.name] - now
                if self.marker_of(spec, i) in self.expected.deleted
            }
            # The guard promises to stop a collection whose scope the mistake moves away
            # from at least SCOPE_MIN of its records, and from more than half of them. Other
            # collections run an ordinary pass: its legitimate deletions (consent withdrawn,
            # a list left, a role lost) go ahead in the same pass.
            moved = self.moved_by(mistake, spec, before[spec.name])
            if moved >= SCOPE_MIN and moved * 2 > len(before[spec.name]):
                assert before[spec.name] <= now, (
                    f"{spec.name}: a mapping mistake ({mistake}) deleted "
                    f"{sorted(before[spec.name] - now)}"
                )
        self.check_embargo()

    @rule(data=st.data(), side=st.sampled_from(["nextcloud", "kalender"]))
    def sync_with_a_second_writer(self, data: st.DataObject, side: str) -> None:
        """Between the pull and the apply of a collection, the store is written by someone
        else: the importer, or a person deciding an application."""
        tasks = [t for t in self.live("task") if isinstance(t, Task)]
        events = [e for e in self.live("event") if isinstance(e, Event)]
        # The pass itself has something to write to the same entity: a platform edit.
        self.counter += 1
        if side == "nextcloud" and tasks:
            task = data.draw(st.sampled_from(tasks))
            self.remote_edit("beirat-aufgaben", task, "done", not task.done)
            self.targets[side].on_pull = lambda: self.import_due(task)
        elif events:
            event = data.draw(st.sampled_from(events))
            for rule_name in ("fahrplan", "beirat-termine"):
                self.remote_edit(rule_name, event, "title", f"Verlegt {self.counter}")
            self.targets[side].on_pull = lambda: self.relocate(event.uid)
        self.run(self.engine())
        self.targets[side].on_pull = None
        self.check_embargo()

    def run(self, engine: Engine) -> list[Any]:
        """One pass; its notes are kept for :meth:`check_copies`."""
        results = engine.sync()
        self.notes += [n for r in results for n in r.notes]
        return results

    def moved_by(self, mistake: str, spec: Any, records: set[str]) -> int:
        """How many of ``records`` (a collection before a mistaken pass) the mistake moves
        out of the rule's scope, by the machine's own log: a cohort typo moves every record
        of a live entity; the flipped council filter moves the council list's members who
        consent (by the machine's last word on their consent) and never left it."""
        if mistake == "cohort":
            return sum(
                1
                for i in records
                if (uid := self.marker_of(spec, i)) and uid not in self.expected.deleted
            )
        if spec.name != "liste-beirat":
            return 0
        name = collection_name(spec)
        moved = 0
        for i in records:
            uid = self.marker_of(spec, i)
            if uid is None or (uid, name) in self.expected.opted_out:
                continue
            said = [
                self.expected.values.get((uid, "consent_lists")),
                *self.expected.edits.get((uid, "consent_lists"), []),
            ]
            moved += said[-1] is True
        return moved

    def marker_of(self, spec: Any, remote_id: str) -> str | None:
        """The marker a record carried before the last mistaken pass."""
        return self.markers.get((spec.name, remote_id))

    def relocate(self, uid: str) -> None:
        event = self.store.get(uid)
        if event is not None:
            self.canonical_edit(event, "location", f"Saal {self.counter}")

    @rule()
    def resolve_conflicts(self) -> None:
        for conflict in self.store.conflicts():
            if conflict.resolved_at is None:
                self.store.resolve_conflict(conflict.id, conflict.remote)

    @rule()
    def quiet_sync(self) -> None:
        previous: list[Any] = []
        #: Collections the office lets lose records after the guard stopped them: the
        #: machine's own edits (two people withdrawing consent, tasks deleted) can be a
        #: mass deletion, and ``--allow-mass-delete RULE`` is the documented answer. What
        #: the confirmed pass deletes is then judged by the checks below.
        allowed: set[str] = set()
        for _ in range(8):
            results = self.run(self.engine(frozenset(allowed)))
            tripped = {r.rule for r in results if isinstance(r.error, GuardTripped)}
            others = [
                str(r.error) for r in results if r.error is not None and r.rule not in tripped
            ]
            assert not others, others
            if tripped:
                allowed |= tripped
                previous = []
                continue
            counted = [(r.rule, r.counts) for r in results if r.counts]
            # Quiet: nothing done, or only the same refused edits reported again.
            if not counted or (
                counted == previous and all(r.problems for r in results if r.counts)
            ):
                break
            previous = counted
        else:
            raise AssertionError("no quiet pass after 8 passes")
        self.problems = [p for r in results for p in r.problems]
        assert self.store.journal() == [], "writes left in flight after quiet passes"
        self.check_fine_dues()
        self.check_values()
        self.check_platforms()
        self.check_opt_outs()
        self.check_copies()
        self.check_roles()
        self.check_lists()
        self.check_embargo()

    # -- what must hold -----------------------------------------------------------------

    def check_values(self) -> None:
        """Every modelled canonical value is the one the machine expects: unchanged, or set
        by one of the edits since the last check (or waiting in a conflict)."""
        conflicted = {c.uid for c in self.store.conflicts()}
        adopted = self.adopt_hand_cards(conflicted)
        expected = self.expected
        for (uid, attribute), value in list(expected.values.items()):
            entity = self.store.get(uid)
            if uid in expected.deleted:
                assert entity is None, f"{uid} was deleted, but is back"
                continue
            assert entity is not None, f"{uid} vanished, nobody deleted it"
            now = getattr(entity, attribute)
            allowed = [value, *expected.edits.get((uid, attribute), [])]
            assert now in allowed or uid in conflicted, (
                f"{uid}.{attribute} is {now!r}; expected one of {allowed!r} (nobody set it so)"
            )
            edits = expected.edits.get((uid, attribute), [])
            refused = any(
                "refused" in p and any(f"{e!r}" in p for e in edits) for p in self.problems
            )
            if edits and now == value and value not in edits and not (uid in conflicted or refused):
                raise AssertionError(f"edits {edits!r} of {uid}.{attribute} were lost")
            expected.values[(uid, attribute)] = now
        expected.edits.clear()
        for uid in adopted:
            for attribute in MODELLED["task"]:
                entity = self.store.get(uid)
                assert entity is not None
                expected.values[(uid, attribute)] = getattr(entity, attribute)
        # The domain consequence: a selected application makes its applicant a mentee.
        for application in self.store.entities("application"):
            assert isinstance(application, Application)
            person = self.store.get(application.applicant)
            assert isinstance(person, Person)
            if application.status is ApplicationStatus.SELECTED:
                assert Role.MENTEE in person.roles and COHORT in person.cohorts, person

    def adopt_hand_cards(self, conflicted: set[str]) -> list[str]:
        """Cards added by hand became tasks with the values the machine gave them, or with
        the edits made since: a pass may import a card before the next quiet one (a pass
        with a fault or a second writer), and a later edit of the card or of its task is
        then an ordinary edit, which must win over the value the card was added with."""
        links = {
            link.remote_id: uid
            for uid, link in self.store.links(f"{COHORT}:beirat-aufgaben").items()
        }
        adopted = []
        for remote_id, values in list(self.hand_cards.items()):
            uid = links.get(remote_id)
            if uid is None:
                assert remote_id not in self.targets["nextcloud"].records(TASKS) or (
                    COPIED_RECORDS
                ), f"card {remote_id} added by hand was not imported"
                del self.hand_cards[remote_id]
                continue
            task = self.store.get(uid)
            assert isinstance(task, Task)
            for attribute, value in values.items():
                edits = self.expected.edits.get((uid, attribute))
                assert getattr(task, attribute) in (edits or [value]) or uid in conflicted, (
                    uid,
                    attribute,
                    getattr(task, attribute),
                    edits or [value],
                )
            adopted.append(uid)
            del self.hand_cards[remote_id]
        return adopted

    def check_platforms(self) -> None:
        """Every two-way field agrees on both sides; no record twice; all in scope linked."""
        engine = self.engine()
        catalog = Catalog.load(self.store)
        conflicts = {(c.rule, c.uid, c.field) for c in self.store.conflicts()}
        for spec in self.mapping.rules:
            key = f"{COHORT}:{spec.name}"
            records = self.targets[spec.target].records(collection_name(spec))
            linked_ids = {link.remote_id for link in self.store.links(key).values()}
            # A copy left alone keeps the marker it was copied with (checked in check_copies).
            markers = [
                r.marker
                for i, r in records.items()
                if r.marker and (i not in self.copies or i in linked_ids)
            ]
            assert len(markers) == len(set(markers)), f"duplicate records in {spec.name}"
            if spec.mailing_list is not None:
                emails = [str(r.fields.get("email")).lower() for r in records.values()]
                assert len(emails) == len(set(emails)), f"{spec.name}: a member twice"
            view = engine.views[spec.name]
            for uid, link in self.store.links(key).items():
                entity = catalog.get(uid)
                record = records.get(link.remote_id)
                if entity is None or record is None or link.remote_id.startswith("detached:"):
                    continue
                # Every record linked after quiet passes carries its entity's marker (finding
                # 8: adopted and imported ones too), so a restored store finds it again.
                assert record.marker == uid, (
                    f"{spec.name}: record {link.remote_id} of {uid} carries {record.marker!r}"
                )
                if any(p.startswith(f"{key}: {uid}:") for p in self.problems):
                    continue  # a refused platform edit stays there, reported every pass
                for field_key, codec in view.codecs.items():
                    if codec.spec.direction != "both" or (key, uid, field_key) in conflicts:
                        continue
                    held = record.fields.get(codec.spec.remote)
                    if held is not None and held == self.finer.get(link.remote_id):
                        continue  # a due with a time of its day: the same date, held finer
                    canonical = codec.render(entity, catalog, tandems=True)
                    remote = codec.view(record.fields.get(codec.spec.remote), catalog)
                    assert canonical == remote, (
                        f"{spec.name}/{uid}/{field_key}: {canonical!r} != {remote!r}"
                    )

    def check_fine_dues(self) -> None:
        """A due someone set to a time of its day stays as they wrote it, unless the task's
        due was edited meanwhile (by anyone the machine played)."""
        cards = self.targets["nextcloud"].records(TASKS)
        for remote_id, (uid, value) in self.fine_dues.items():
            if (uid, "due") in self.expected.edits or remote_id not in cards:
                continue
            if uid in self.expected.deleted:
                continue
            assert cards[remote_id].fields.get("due") == value, (
                f"card {remote_id}: due {value!r} was written back as "
                f"{cards[remote_id].fields.get('due')!r}; nobody changed {uid}.due"
            )
        self.fine_dues.clear()

    def check_roles(self) -> None:
        """Roles belong to a cohort: cohort 10's change only by a decision on an application;
        a row about cohort 11 gave its roles there."""
        for uid in PEOPLE:
            person = self.store.get(uid)
            assert isinstance(person, Person)
            if uid not in APPLICANTS:
                assert person.roles_in([COHORT]) == self.roles_10[uid], (
                    f"{uid}'s roles in {COHORT} are {person.roles_in([COHORT])}, "
                    f"expected {self.roles_10[uid]}: {person.memberships}"
                )
            if uid in self.roles_later:
                assert person.roles_in([LATER]) == self.roles_later[uid], person.memberships

    def check_lists(self) -> None:
        """Each list holds exactly the consenting people its filter covers in cohort 10,
        people who left it excepted (the machine's reading of the shipped filters)."""
        people = [p for p in self.store.entities("person") if isinstance(p, Person)]
        for spec in self.mapping.rules:
            if spec.name not in LIST_FILTERS:
                continue
            roles, group = LIST_FILTERS[spec.name]
            name = collection_name(spec)
            wanted = {
                p.email.lower()
                for p in people
                if p.consent_lists
                and p.roles_in([COHORT]) & roles
                and (group is None or p.regional_group == group)
                and (p.uid, name) not in self.expected.opted_out
                and name not in p.opt_outs
            }
            members = self.targets["listen"].records(name).values()
            have = {str(m.fields.get("email")).lower() for m in members}
            assert have == wanted, f"{spec.name}: members {sorted(have)}, expected {sorted(wanted)}"

    def check_copies(self) -> None:
        """A copied card is never deleted: it became a task of its own (with its own marker)
        or was left alone and reported."""
        cards = self.targets["nextcloud"].records(TASKS)
        links = self.store.links(f"{COHORT}:beirat-aufgaben")
        linked = {link.remote_id: uid for uid, link in links.items()}
        for remote_id in sorted(self.copies):
            uid = linked.get(remote_id)
            if uid is not None:
                # Imported: from now on an ordinary card (its task may be deleted later).
                assert cards[remote_id].marker == uid, f"copy {remote_id} kept a foreign marker"
                self.copies.discard(remote_id)
                continue
            assert remote_id in cards, f"copied card {remote_id} was deleted"
            if remote_id in self.reported:
                continue  # told once; later listings need not show it again
            assert any(f"record {remote_id} " in n for n in self.notes), (
                f"copied card {remote_id} left alone without a word: {self.notes}"
            )
            self.reported.add(remote_id)
        self.notes = []

    def check_opt_outs(self) -> None:
        for uid, name in self.expected.opted_out:
            person = self.store.get(uid)
            assert isinstance(person, Person) and name in person.opt_outs, f"{uid} left {name}"
            for spec in self.mapping.rules:
                if collection_name(spec) == name:
                    members = self.targets["listen"].records(name).values()
                    assert person.email not in {m.fields.get("email") for m in members}, (
                        f"{uid} was subscribed to {name} again"
                    )

    def check_embargo(self) -> None:
        if self.today >= REVEAL:
            return
        pairs = secret_pairs(Catalog.load(self.store), self.today)
        for spec in self.mapping.rules:
            if self.mapping.targets[spec.target].audience == Audience.COUNCIL and spec.audience in (
                None,
                Audience.COUNCIL,
            ):
                continue
            if self.mapping.audience_of(spec) == Audience.COUNCIL:
                continue
            for record in self.targets[spec.target].records(collection_name(spec)).values():
                named = names_a_pair(list(record.fields.values()), pairs)
                assert named is None, f"{spec.name}: {record.fields} names tandem {named}"


#: ``SM_EXAMPLES`` lowers the count for a quick local try (CI runs the default, 500).
EXAMPLES = int(os.environ.get("SM_EXAMPLES", "500"))
#: CI runs one fixed sequence of 500 examples (``derandomize``), so that a result can be
#: repeated; ``SM_RANDOM=1`` (with ``--hypothesis-seed=N``) explores new ones. Failures other
#: seeds found and that are still open are listed in tests/statemachine_reverts.md.
RANDOM = bool(os.environ.get("SM_RANDOM"))

ShippedMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    database=None if not RANDOM else settings.default.database,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestShippedMachine = ShippedMachine.TestCase


def test_leaving_a_list_while_leaving_its_scope_is_still_an_opt_out() -> None:
    """Found by the machine: Anna leaves the mentees' list, and her application is declined
    on the board in the same interval; selected again later, she must stay off the list."""
    machine = ShippedMachine()
    try:
        machine.cohort()
        machine.quiet_sync()
        spec = next(r for r in machine.mapping.rules if r.name == "liste-mentees")
        name = collection_name(spec)
        link = machine.store.links(f"{COHORT}:liste-mentees")["p-anna"]
        machine.targets["listen"].remove(name, link.remote_id)
        machine.expected.opted_out.add(("p-anna", name))
        machine.move_application_card(status="declined", who="app-anna")
        machine.quiet_sync()
        machine.decide_application(status="selected", who="app-anna")
        machine.quiet_sync()
        person = machine.store.get("p-anna")
        assert isinstance(person, Person) and name in person.opt_outs
    finally:
        machine.teardown()


# -- the machine's shrunk examples for the reverted fixes (tests/statemachine_reverts.md) ----


def replay(steps: Callable[[ShippedMachine], None]) -> None:
    """Run ``steps`` on a fresh machine after its first quiet pass, then quiet passes."""
    machine = ShippedMachine()
    try:
        machine.cohort()
        steps(machine)
        machine.quiet_sync()
    finally:
        machine.teardown()


def test_replay_a_create_killed_after_its_post_keeps_the_assignee() -> None:
    """Finding 1 (held_base reverted: assignee/organisation set to None)."""
    replay(lambda m: m.sync_with_a_cut_create("kill", 2, 0, "Raum buchen", "p-cora"))
    replay(lambda m: m.sync_with_a_cut_create("refuse", 3, 0, "Raum buchen", "p-cora"))


def test_replay_a_reimport_with_empty_cells_keeps_the_stored_values() -> None:
    """Finding 3 (empty cells as defaults, roles or opt-outs replaced, filters across
    cohorts)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.leave_list(st_data(sorted(m.store.links(f"{COHORT}:liste-mentees"))[0]), "liste-mentees")
        m.reimport_person("p-cora", None, None)
        m.reimport_person("p-emil", "Mentor", "liste-alle")
        m.quiet_sync()
        m.reimport_person("p-anna", "Mentor", "liste-beirat")

    replay(steps)


def test_replay_a_mapping_mistake_stops_the_guard() -> None:
    """Finding 4 (the guard counting only vanished records, no scope stop)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.sync_with_a_mapping_mistake("filter")
        m.sync_with_a_mapping_mistake("cohort")

    replay(steps)


def test_replay_a_mapping_mistake_lets_the_other_lists_lose_who_left() -> None:
    """Found on the fixed code (a machine false positive): in a pass with the council
    list's filter flipped, Anna's member record leaves ``liste-alle`` because she withdrew
    consent, left the list or was declined; only the council list's scope moved."""
    leaving: list[Callable[[ShippedMachine], None]] = [
        lambda m: m.withdraw_consent("p-anna"),
        lambda m: m.reimport_person("p-anna", None, "liste-alle"),
        lambda m: m.decide_application("declined", "app-anna"),
    ]
    for leave in leaving:

        def steps(m: ShippedMachine, leave: Callable[[ShippedMachine], None] = leave) -> None:
            m.quiet_sync()
            leave(m)
            m.sync_with_a_mapping_mistake("filter")

        replay(steps)


def test_replay_two_withdrawals_are_a_mass_deletion_the_office_confirms() -> None:
    """Found on the fixed code (a machine false positive): Anna and Bernd withdraw consent,
    so ``liste-alle`` would lose both its members; the guard stops it (scope moved), the
    office confirms with ``--allow-mass-delete``, and the list ends empty."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.withdraw_consent("p-anna")
        m.withdraw_consent("p-bernd")

    replay(steps)


def test_replay_a_declined_mentee_keeps_her_tandem_and_her_reimport() -> None:
    """Found on the fixed code (a machine false positive): the machine declined Anna's
    application in the store directly, leaving tandem t-1 with a partner who is no mentee,
    a state `connector import` refuses to make; a later re-import of her row was then
    refused for that tandem. The office's decision is refused as an import refuses it."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.decide_application("declined", "app-anna")
        application = m.store.get("app-anna")
        assert isinstance(application, Application)
        assert application.status is ApplicationStatus.SELECTED
        m.reimport_person("p-anna", "Mentor", None)

    replay(steps)


def test_replay_a_copy_of_a_card_with_a_due_time_keeps_it() -> None:
    """Found on the fixed code (a machine false positive): a card's due got a time of its
    day, then the card was copied; the copy, imported as a task of its own, holds the same
    date the finer way and must keep it (finding 7), which the machine did not expect."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        task = m.live("task")[0]
        m.set_due_time_on_card(st_data(task), 6)
        found = m.linked_record("beirat-aufgaben", task.uid)
        assert found is not None
        m.copy_card(st_data(found[2]))

    replay(steps)


def test_replay_a_copy_left_alone_is_reported_in_a_pass_that_settles_again() -> None:
    """Found on the fixed code (a product bug, finding 5): a copy of a done card (not
    importable) appeared in a pass that also wrote to the board, so the pass settled in a
    second round; the second round's notes replaced the first's, and the copy left alone
    was never reported (the next listing no longer shows it)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        done, other = sorted(m.live("task"), key=lambda t: t.uid)[:2]
        m.edit_card(st_data(done), "done")
        m.quiet_sync()
        m.canonical_edit(other, "title", "Catering neu")
        found = m.linked_record("beirat-aufgaben", done.uid)
        assert found is not None
        m.copy_card(st_data(found[2]))
        m.quiet_sync()  # reported once; the next passes need not repeat it

    replay(steps)


def test_replay_a_due_edited_on_the_card_then_given_a_time() -> None:
    """Found on the fixed code (a machine false positive): a card's due moved to June, then
    the machine gave the card a time on the task's old day, overwriting its own edit on the
    board, and still expected June. A due with pending edits is not given a time now."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        task = sorted(m.live("task"), key=lambda t: t.uid)[1]
        m.edit_card(st_data(task), "due")
        m.set_due_time_on_card(st_data(task), 6)

    replay(steps)


def test_replay_a_finer_card_due_does_not_hold_back_a_reimported_due() -> None:
    """Found on the fixed code with seed 7 (a product bug, finding 7's area): a card's due
    given a time of its own day, then the task's due re-imported; the pass parked a conflict
    (base 2026-01-31T23:00:00Z, remote 2026-02-01T05:00:00Z: the same day) instead of
    writing the new date, and resolving it to the board undid the office's import. Now the
    board's finer showing of the agreed value counts as unchanged (sync/plan_merge.py)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        task = sorted(m.live("task"), key=lambda t: t.uid)[0]
        m.set_due_time_on_card(st_data(task), 6)
        m.reimport_task(st_data(task))
        m.quiet_sync()
        assert m.store.conflicts() == [], m.store.conflicts()

    replay(steps)


def test_replay_copies_and_hand_cards_keep_their_records_and_markers() -> None:
    """Findings 5 and 8 (copies deleted; no marker on imported records)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.add_card_by_hand("Raum buchen")
        m.copy_card(st_data(sorted(m.targets["nextcloud"].records(TASKS))[0]))
        m.quiet_sync()
        m.edit_card(st_data(m.live("task")[0]), "done")
        m.copy_card(st_data(sorted(m.targets["nextcloud"].records(TASKS))[0]))

    replay(steps)


def test_replay_a_due_with_a_time_is_not_written_back() -> None:
    """Finding 7 (the finer platform value written back)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.set_due_time_on_card(st_data(m.live("task")[0]), 11)

    replay(steps)


def test_replay_a_hand_card_imported_early_then_edited() -> None:
    """Found with seed 7 after the merge (a machine false positive): a card added by hand
    was imported by a pass with a second writer, then its title edited on the board; the
    quiet pass rightly took the new title, but the machine still expected the title the card
    was added with. The edits made since count now (tests the adoption, not a product fix)."""

    def steps(m: ShippedMachine) -> None:
        m.add_card_by_hand("Raum buchen")
        m.sync_with_a_second_writer(st_data(m.live("task")[0]), "nextcloud")
        made = next(t for t in m.live("task") if t.uid.startswith("task-made-"))
        m.edit_card(st_data(made, "Catering"), "title")

    replay(steps)


def test_replay_a_title_edited_on_the_old_calendar_follows_the_moved_event() -> None:
    """Found with seed 7 after the merge (a product bug): the council renamed its meeting on
    the council calendar while the office made it an event for the participants; the pass
    deleted the record from the council calendar (out of the rule's scope now) and the new
    title with it. Now the edit is carried into the store before the record goes
    (sync/plan.py ``_Planner._leaving``, sync/apply.py ``Applier._carry_over``)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        meeting = m.store.get("ev-1")
        m.edit_calendar_event(st_data(meeting), "title")
        m.edit_event(st_data(m.store.get("ev-1")), "audience")
        m.quiet_sync()
        event = m.store.get("ev-1")
        assert isinstance(event, Event) and event.title.startswith("Umbenannt"), event

    replay(steps)


def test_replay_a_new_person_with_an_empty_consent_cell_reaches_no_list() -> None:
    """Finding 3 (consent assumed for a new person: `consent_lists` defaulting to yes)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.import_new_person("Mentee", "")
        m.import_new_person("Mentor", "ja")

    replay(steps)


def test_replay_a_people_file_breaking_the_tandem_is_refused() -> None:
    """Finding 3 (imports skipping the tandem checks of the people they change)."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        for case in (("p-anna", "org"), ("p-bernd", "org"), ("p-bernd", "council")):
            m.reimport_breaking_the_tandem(case)

    replay(steps)


def test_replay_a_copy_reported_by_a_pass_with_a_second_writer() -> None:
    """Found with seed 9 (a machine false positive): a copy of a done card (not importable)
    was reported, left alone, by the pass with a second writer that first listed it; the
    machine kept only the quiet passes' notes, whose listings no longer show the copy, and
    took it for unreported. The notes of every pass count now."""

    def steps(m: ShippedMachine) -> None:
        m.quiet_sync()
        m.sync_with_a_second_writer(st_data(m.store.get("task-0")), "nextcloud")
        found = m.linked_record("beirat-aufgaben", "task-0")
        assert found is not None
        m.copy_card(st_data(found[2]))
        m.sync_with_a_second_writer(st_data(m.store.get("task-0")), "nextcloud")
        (copy,) = m.copies
        assert any(f"record {copy} " in n for n in m.notes), m.notes

    replay(steps)


class Drawn:
    """Stands in for hypothesis's ``data()`` in the replays: the draws give ``values`` in
    turn, the last one again once they run out."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, _strategy: Any) -> Any:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def st_data(*values: Any) -> Any:
    """A ``data`` argument whose draws return ``values`` in turn (the last one repeated)."""
    return Drawn(*values)
