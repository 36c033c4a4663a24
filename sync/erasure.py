"""Erasing a person everywhere (DSGVO Art. 17), with a receipt that names nobody.

An erasure is planned from the store — the person, their applications, their tandems and
the tandem meetings, and the tasks assigned to them — and written down as *pending* before
anything is deleted, so that a crash half-way is finished by the next ``connector forget``.
Then, step by step (each recorded when done):

1. ``targets``: every record the connector made for those entities is deleted on its
   platform. Deck only soft-deletes (the card stays in its database), so a card is first
   overwritten — title and description — and then deleted. The person is taken off the
   records of their tasks.
2. ``store``: the entities are tombstoned with their personal fields overwritten, links,
   conflicts and journal entries of them dropped, their tasks unassigned, and the person's
   name and address blotted out of stored pass summaries.
3. ``sync``: one pass carries what follows on the platforms (events lose the attendee).
4. ``mailman``: the Mailman users that own the person's address are deleted with every
   address they hold (an address change leaves the old one on the user).

The receipt keeps the date, the kinds of records and their counts, and the targets — no
name, address or uid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from connector.errors import NotFound, RetryLater
from connector.mailman import MailmanTarget
from sync.catalog import Catalog
from sync.engine import Engine
from sync.integrity import Lookup
from sync.matching import find_person
from sync.model import (
    Application,
    ApplicationStatus,
    Cohort,
    Entity,
    Event,
    Person,
    Programme,
    Tandem,
    Task,
    utcnow,
)
from sync.programme_tables import ensure_tables
from sync.store import Store

log = logging.getLogger(__name__)

STEPS = ("targets", "store", "sync", "mailman")
ERASED = "Gelöscht"
#: Deck keeps deleted cards; these replace what the connector wrote before the delete.
DECK_OVERWRITE = {"title": ERASED, "description": ""}


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


# -- pending erasures ---------------------------------------------------------------------


def _save(store: Store, plan: ErasurePlan) -> None:
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
    _save(store, plan)
    return plan


# -- the steps ----------------------------------------------------------------------------


def _label(engine: Engine, target: str) -> str:
    return f"{engine.mapping.cohort or engine.mapping.programme}/{target}"


def _count(plan: ErasurePlan, label: str, what: str, n: int = 1) -> None:
    tally = plan.targets.setdefault(label, {})
    tally[what] = tally.get(what, 0) + n


def remote_records(
    store: Store, engines: list[Engine], plan: ErasurePlan
) -> list[tuple[Engine, Any, str, str]]:
    """(engine, rule, uid, remote id) of every linked record the erasure deletes."""
    wanted = set(plan.delete)
    found = []
    for engine in engines:
        for rule in engine.mapping.rules:
            for uid, link in store.links(engine.key(rule)).items():
                if uid in wanted:
                    found.append((engine, rule, uid, link.remote_id))
    return found


def _targets_step(store: Store, engines: list[Engine], plan: ErasurePlan) -> None:
    catalog = Catalog.load(store)
    for engine, rule, uid, remote_id in remote_records(store, engines, plan):
        target = engine.targets[rule.target]
        collection = engine.collection(rule, catalog)
        label = _label(engine, rule.target)
        what = {"deck": "cards", "caldav": "events", "mailman": "memberships"}.get(
            target.kind, "records"
        )
        try:
            if target.kind == "deck":
                target.update(collection, remote_id, DECK_OVERWRITE, None)
                _count(plan, label, "cards overwritten")
            target.delete(collection, remote_id, None)
        except NotFound:
            pass  # already gone: nothing left to erase there
        store.drop_link(engine.key(rule), uid)
        _count(plan, label, f"{what} deleted")
        _save(store, plan)
    _unassign_remote(store, engines, plan, catalog)


def _unassign_remote(
    store: Store, engines: list[Engine], plan: ErasurePlan, catalog: Catalog
) -> None:
    """Take the person off the records of their tasks (the records stay).

    This happens here, not in the later sync pass: once the person is gone from the store,
    the pass no longer counts their user id as one the connector manages.
    """
    tasks = set(plan.unassign)
    for engine in engines:
        for rule in engine.mapping.rules:
            specs = [f for f in rule.fields if f.canonical == "assignee" and f.lookup]
            links = store.links(engine.key(rule)) if specs else {}
            for uid in tasks & set(links):
                target = engine.targets[rule.target]
                collection = engine.collection(rule, catalog)
                try:
                    record = target.get(collection, links[uid].remote_id)
                    for spec in specs:
                        current = list(record.fields.get(spec.remote) or [])
                        kept = [v for v in current if v not in plan.handles]
                        if kept != current:
                            target.update(collection, record.remote_id, {spec.remote: kept}, None)
                            _count(plan, _label(engine, rule.target), "assignments removed")
                except NotFound:
                    continue


def _blank(entity: Entity) -> Entity:
    """``entity`` with every personal field overwritten (uid, references and dates stay)."""
    match entity:
        case Person():
            return entity.model_copy(
                update={
                    "given_name": ERASED,
                    "family_name": ERASED,
                    "email": f"{entity.uid}@erased.invalid",
                    "position": "",
                    "regional_group": None,
                    "deck_user": None,
                    "opt_outs": set(),
                    "council_seat": None,
                }
            )
        case Application():
            return entity.model_copy(
                update={
                    "position": "",
                    "department": "",
                    "motivation": "",
                    "goals": "",
                    "topics": [],
                    "leadership_role": "",
                    "leadership_since": None,
                    "staff_count": None,
                }
            )
        case Event():
            return entity.model_copy(update={"title": ERASED, "description": "", "location": ""})
    return entity


#: Stored texts that may quote a person (problems in pass summaries, conflict values).
_TEXTS = (
    ("passes", "summary"),
    ("conflicts", "base"),
    ("conflicts", "canonical"),
    ("conflicts", "remote"),
)


def _store_step(store: Store, plan: ErasurePlan) -> None:
    # Overwritten and deleted rows are zeroed in the file, not just unlinked from the tree.
    store.db.execute("PRAGMA secure_delete = ON")
    with store.transaction():
        for uid in plan.unassign:
            task = store.get(uid)
            if isinstance(task, Task) and task.assignee == plan.person:
                store.put(task.touched(assignee=None))
        cohorts = [c for c in store.entities("cohort") if isinstance(c, Cohort)]
        for cohort in cohorts:
            if plan.person in cohort.council:
                store.put(cohort.touched(council=[u for u in cohort.council if u != plan.person]))
        for uid in plan.delete:
            entity = store.get(uid, include_deleted=True)
            if entity is not None:
                store.put(_blank(entity))
                store.tombstone(uid)
            store.drop_links_of(uid)
            store.db.execute("DELETE FROM conflicts WHERE uid = ?", (uid,))
            store.db.execute("DELETE FROM journal WHERE uid = ?", (uid,))
        for needle in (plan.name, plan.email):
            for table, column in (
                ("passes", "summary"),
                ("conflicts", "base"),
                ("conflicts", "canonical"),
                ("conflicts", "remote"),
            ):
                store.db.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?) "
                    f"WHERE instr({column}, ?) > 0",
                    (needle, ERASED, needle),
                )
    # The write-ahead log still holds the old pages until a checkpoint folds it in.
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _mailman_step(engines: list[Engine], plan: ErasurePlan) -> None:
    seen: set[int] = set()
    for engine in engines:
        for name, target in engine.targets.items():
            if isinstance(target, MailmanTarget) and id(target) not in seen:
                seen.add(id(target))
                removed = target.erase_addresses([plan.email])
                _count(plan, _label(engine, name), "addresses deleted", removed)


@dataclass
class Receipt:
    """What an erasure did, without personal data."""

    erased_at: str
    records: dict[str, int]
    targets: dict[str, dict[str, int]]
    id: int | None = None


def erase(
    store: Store,
    plan: ErasurePlan,
    engines: list[Engine],
    sync_pass: Callable[[], list[str]],
) -> Receipt:
    """Run the pending steps of ``plan``; returns the receipt (also stored).

    ``sync_pass`` runs one sync pass and returns its errors; a step that fails leaves the
    erasure pending, and the next call continues with it.
    """
    for step in STEPS:
        if step in plan.done:
            continue
        if step == "targets":
            _targets_step(store, engines, plan)
        elif step == "store":
            _store_step(store, plan)
        elif step == "sync":
            errors = sync_pass()
            if errors:
                raise RetryLater(
                    "the erasure is stored but a platform could not be updated; run "
                    "`connector forget` again to finish: " + "; ".join(errors)
                )
        elif step == "mailman":
            _mailman_step(engines, plan)
        plan.done.append(step)
        _save(store, plan)
    receipt = Receipt(utcnow().isoformat(), dict(plan.kinds), dict(plan.targets))
    with store.transaction():
        receipt.id = store.add_receipt(
            {"erased_at": receipt.erased_at, "records": receipt.records, "targets": receipt.targets}
        )
        store.db.execute("DELETE FROM erasures WHERE person = ?", (plan.person,))
    return receipt


def receipts(store: Store) -> list[dict[str, Any]]:
    """Every stored erasure receipt, oldest first."""
    rows = store.db.execute("SELECT id, created_at, summary FROM receipts ORDER BY id").fetchall()
    return [{"id": r[0], "created_at": r[1], **json.loads(r[2])} for r in rows]


# -- retention ----------------------------------------------------------------------------

_NOT_SELECTED = {ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN}


@dataclass(frozen=True)
class Due:
    """A person whose data the programme's retention period says must go."""

    person: str
    name: str
    email: str
    since: date
    programme: str


def due(lookup: Lookup, today: date) -> list[Due]:
    """Applicants not selected whose applications are past their programme's retention.

    Only people with no role at all qualify (a mentor or council member who also applied
    stays); the period counts from the application's last change (normally the decision).
    """
    programmes = {p.uid: p for p in lookup.entities("programme") if isinstance(p, Programme)}
    cohorts = {c.uid: c for c in lookup.entities("cohort") if isinstance(c, Cohort)}
    by_person: dict[str, list[Application]] = {}
    for app in lookup.entities("application"):
        if isinstance(app, Application):
            by_person.setdefault(app.applicant, []).append(app)
    found = []
    for uid, apps in sorted(by_person.items()):
        person = lookup.get(uid)
        if not isinstance(person, Person) or person.roles:
            continue
        limits = []
        for app in apps:
            cohort = cohorts.get(app.cohort)
            programme = programmes.get(cohort.programme) if cohort else None
            if app.status not in _NOT_SELECTED or programme is None:
                break
            if programme.retention_days is None:
                break
            kept_until = app.updated_at.date() + timedelta(days=programme.retention_days)
            limits.append((kept_until, programme.uid))
        else:
            latest, programme_uid = max(limits)
            if latest < today:
                found.append(Due(uid, person.name, person.email, latest, programme_uid))
    return found


@dataclass(frozen=True)
class MassDeletion:
    """A collection that would lose more linked records than the guard lets a pass delete."""

    rule: str
    lost: int
    linked: int

    def __str__(self) -> str:
        return f"{self.rule}: {self.lost} of {self.linked} linked records"


def past_the_guard(
    store: Store, engines: list[Engine], plans: list[ErasurePlan], share: float, minimum: int
) -> list[MassDeletion]:
    """Collections where erasing ``plans`` deletes as many records as the guard stops."""
    lost: dict[str, int] = {}
    for plan in plans:
        for engine, rule, _uid, _remote in remote_records(store, engines, plan):
            lost[engine.key(rule)] = lost.get(engine.key(rule), 0) + 1
    found = []
    for key, count in sorted(lost.items()):
        linked = len(store.links(key))
        if count >= minimum and linked and count / linked > share:
            found.append(MassDeletion(key, count, linked))
    return found
