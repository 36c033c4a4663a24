"""The steps of an erasure on the targets and in the store; each counts what it removed
in the plan (numbers only) and saves the plan as it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from connector.errors import NotFound
from connector.platform import ErasesAddresses
from sync.catalog import Catalog
from sync.engine import Engine
from sync.erasure_plan import ErasurePlan, save
from sync.model import BERLIN, Application, Cohort, Entity, Event, Person, Task, utcnow
from sync.store import Store
from sync.suppression import ERASED_DOMAIN, suppress

ERASED = "Gelöscht"


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


def targets_step(store: Store, engines: list[Engine], plan: ErasurePlan) -> None:
    catalog = Catalog.load(store)
    for engine, rule, uid, remote_id in remote_records(store, engines, plan):
        target = engine.targets[rule.target]
        collection = engine.collection(rule, catalog)
        label = _label(engine, rule.target)
        platform = rule.platform
        what = platform.records
        try:
            if platform.erase_overwrite is not None:
                target.update(collection, remote_id, dict(platform.erase_overwrite), None)
                _count(plan, label, f"{what} overwritten")
            target.delete(collection, remote_id, None)
        except NotFound:
            pass  # already gone: nothing left to erase there
        store.drop_link(engine.key(rule), uid)
        _count(plan, label, f"{what} deleted")
        save(store, plan)
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
                    "email": f"{entity.uid}@{ERASED_DOMAIN}",
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


def store_step(store: Store, plan: ErasurePlan) -> None:
    # Overwritten and deleted rows are zeroed in the file, not just unlinked from the tree.
    store.db.execute("PRAGMA secure_delete = ON")
    addresses = erased_addresses(plan)
    with store.transaction():
        suppress(store, addresses, utcnow().astimezone(BERLIN).date().isoformat())
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
        for needle in (plan.name, *addresses):
            for table, column in _TEXTS:
                store.db.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?) "
                    f"WHERE instr({column}, ?) > 0",
                    (needle, ERASED, needle),
                )
    # The write-ahead log still holds the old pages until a checkpoint folds it in.
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def erased_addresses(plan: ErasurePlan) -> list[str]:
    """The addresses ``plan`` keeps as erased (a plan begun before there were any: its one)."""
    return list(dict.fromkeys([plan.email, *plan.addresses]))


@runtime_checkable
class KnowsAddresses(Protocol):
    """Optional capability of a target: every address its accounts of some addresses hold."""

    def addresses_of(self, emails: Iterable[str]) -> list[str]:
        """``emails`` and the other addresses of the platform's accounts owning them."""


def mailman_step(store: Store, engines: list[Engine], plan: ErasurePlan) -> None:
    seen: set[int] = set()
    for engine in engines:
        for name, target in engine.targets.items():
            if isinstance(target, ErasesAddresses) and id(target) not in seen:
                seen.add(id(target))
                if isinstance(target, KnowsAddresses):
                    _keep_old_addresses(store, plan, target.addresses_of([plan.email]))
                removed = target.erase_addresses([plan.email])
                _count(plan, _label(engine, name), "addresses deleted", removed)


def _keep_old_addresses(store: Store, plan: ErasurePlan, found: list[str]) -> None:
    """Keep as erased the addresses a platform still had for the person (an old one on
    their Mailman user); the plan holds them until the receipt numbers them."""
    known = {a.casefold() for a in erased_addresses(plan)}
    new = [a for a in found if a.casefold() not in known]
    if new:
        with store.transaction():
            suppress(store, new, utcnow().astimezone(BERLIN).date().isoformat())
            plan.addresses += new
            save(store, plan)
