"""The plan of an erasure (who and what goes) and its record as *pending* in the store,
kept until every step is done, so that a crash half-way is finished by the next
``connector forget``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sync.integrity import Lookup
from sync.matching import find_person
from sync.model import Application, Entity, Event, Person, Tandem, Task, utcnow
from sync.programme_tables import ensure_tables
from sync.store import Store
from sync.suppression import known_addresses


@dataclass
class ErasurePlan:
    """What erasing one person removes. Holds personal data only while pending."""

    person: str
    name: str
    email: str
    delete: list[str]
    unassign: list[str]
    kinds: dict[str, int]
    #: How platforms name the person in a set field (their Nextcloud user id, address, uid).
    handles: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    #: Per target label: what was removed there (counts only).
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Every address the store knows the person by (``email`` and old ones), to be kept
    #: as erased (keyed hashes, see :mod:`sync.suppression`) so no import brings them back.
    addresses: list[str] = field(default_factory=list)


def plan_erasure(lookup: Lookup, person: Person) -> ErasurePlan:
    """The entities erasing ``person`` deletes or changes."""
    delete: list[Entity] = [person]
    applications = [
        a
        for a in lookup.entities("application")
        if isinstance(a, Application) and a.applicant == person.uid
    ]
    tandems = [
        t
        for t in lookup.entities("tandem")
        if isinstance(t, Tandem) and person.uid in (t.mentee, t.mentor)
    ]
    tandem_uids = {t.uid for t in tandems}
    meetings = [
        e for e in lookup.entities("event") if isinstance(e, Event) and e.tandem in tandem_uids
    ]
    delete += [*applications, *tandems, *meetings]
    tasks = [t for t in lookup.entities("task") if isinstance(t, Task) and t.assignee == person.uid]
    kinds: dict[str, int] = {}
    for entity in delete:
        kinds[entity.kind] = kinds.get(entity.kind, 0) + 1
    if tasks:
        kinds["task (unassigned)"] = len(tasks)
    handles = [h for h in (person.deck_user, person.email, person.uid) if h]
    uids = [e.uid for e in delete]
    unassign = [t.uid for t in tasks]
    return ErasurePlan(person.uid, person.name, person.email, uids, unassign, kinds, handles)


def save(store: Store, plan: ErasurePlan) -> None:
    store.db.execute(
        "INSERT OR REPLACE INTO erasures(person, started_at, plan, done) VALUES (?, ?, ?, ?)",
        (plan.person, utcnow().isoformat(), json.dumps(asdict(plan)), json.dumps(plan.done)),
    )


def pending(store: Store) -> list[ErasurePlan]:
    """Erasures that were started and not finished (a crash, a platform that was down)."""
    ensure_tables(store)
    rows = store.db.execute("SELECT plan FROM erasures ORDER BY started_at").fetchall()
    return [ErasurePlan(**json.loads(row[0])) for row in rows]


def begin(store: Store, ref: str) -> ErasurePlan:
    """The pending erasure of ``ref`` (uid or e-mail), or a new one, stored before any step."""
    for plan in pending(store):
        if ref in (plan.person, plan.email) or ref.lower() == plan.email.lower():
            return plan
    person = find_person(store, ref)
    plan = plan_erasure(store, person)
    plan.addresses = known_addresses(store, person.uid, person.email)
    save(store, plan)
    return plan
