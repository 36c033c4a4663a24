"""A cohort from its programme's Fahrplan template, and updates when the template changes.

Every template item becomes an entity with a stable uid (``<cohort>-<key>``). The values the
template produced are remembered per item (table ``fahrplan_items``). On a later run an item
is updated only while the store still holds exactly what the template last produced: once
the council changed it (or deleted it), a person's edit wins and the item is left alone.
Items removed from the template are removed from the cohort on the same condition. All
writes of one run happen in one transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from connector.errors import InputError
from mappings.fahrplan import EventItem, FahrplanTemplate
from sync.i18n import N_, _, kind_label
from sync.integrity import Overlay, check
from sync.model import BERLIN, Cohort, Entity, Event, Task, utcnow
from sync.programme_tables import ensure_tables
from sync.store import Store

COHORT_KEY = "cohort"
#: The fields a template sets, per kind; everything else belongs to the council.
MANAGED: dict[str, tuple[str, ...]] = {
    "cohort": (
        "programme",
        "number",
        "title",
        "period_start",
        "period_end",
        "reveal_on",
        "fee_per_mentee",
        "total_cost",
    ),
    "event": (
        "event_kind",
        "title",
        "start",
        "end",
        "all_day",
        "location",
        "description",
        "audience",
        "regional_group",
    ),
    "task": ("title", "due", "tags", "notes"),
}


def slug(text: str) -> str:
    """``Süd`` as ``sued``: a key part from a regional group's name."""
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "gruppe"


def produced(entity: Entity) -> dict[str, Any]:
    """The template-managed values of ``entity``, as comparable JSON data."""
    data: dict[str, Any] = json.loads(entity.model_dump_json(include=set(MANAGED[entity.kind])))
    # Sets (audience, tags) dump in hash order, which changes between processes.
    return {k: sorted(v, key=str) if isinstance(v, list) else v for k, v in data.items()}


@dataclass(frozen=True)
class Item:
    """One planned entity and the key it has in the template."""

    key: str
    entity: Entity


@dataclass
class Outcome:
    """What a run did (or would do) with one item."""

    key: str
    uid: str
    kind: str
    action: str  # created, updated, unchanged, kept, removed
    why: str = ""


@dataclass
class FahrplanReport:
    """The result of ``connector cohort new``."""

    cohort: str
    template: str
    written: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many items per action."""
        tally: dict[str, int] = {}
        for outcome in self.outcomes:
            tally[outcome.action] = tally.get(outcome.action, 0) + 1
        return tally


def _title(text: str, number: int, group: str | None = None) -> str:
    text = text.replace("{number}", str(number))
    return text.replace("{group}", group) if group is not None else text


def _event(
    cohort: str, number: int, start: date, item: EventItem, group: str | None, shift: int
) -> Event:
    first = start + timedelta(days=item.day + shift)
    if item.time is None:
        begin = datetime.combine(first, time(0), BERLIN)
        end = datetime.combine(first + timedelta(days=item.days - 1), time(0), BERLIN)
        all_day = True
    else:
        a, b = item.time.split("-")
        begin = datetime.combine(first, time.fromisoformat(a), BERLIN)
        end = datetime.combine(first, time.fromisoformat(b), BERLIN)
        all_day = False
    return Event(
        uid=f"{cohort}-{item.key}" + (f"-{slug(group)}" if group else ""),
        cohort=cohort,
        event_kind=item.kind,
        title=_title(item.title, number, group),
        start=begin,
        end=end,
        all_day=all_day,
        location=item.location,
        description=item.description,
        audience=set(item.audience),
        regional_group=group,
    )


def _groups(template: FahrplanTemplate, per_group: bool) -> list[tuple[int, str | None]]:
    return list(enumerate(template.regional_groups)) if per_group else [(0, None)]


def plan_items(template: FahrplanTemplate, cohort: str, number: int, start: date) -> list[Item]:
    """The cohort and every event and task the template gives for it, in template order."""
    items: list[Item] = []
    events: dict[tuple[str, str | None], Event] = {}
    for event in template.events:
        for index, group in _groups(template, event.per_group):
            made = _event(cohort, number, start, event, group, index * event.stagger_days)
            events[(event.key, group)] = made
            items.append(Item(event.key + (f"-{slug(group)}" if group else ""), made))
    for task in template.tasks:
        for _slug, group in _groups(template, task.per_group):
            milestone = events.get((task.milestone, group)) or next(
                e for (key, _g), e in events.items() if key == task.milestone
            )
            anchor = milestone.start if task.counted_from == "start" else milestone.end
            key = task.key + (f"-{slug(group)}" if group else "")
            made_task = Task(
                uid=f"{cohort}-{key}",
                cohort=cohort,
                title=_title(task.title, number, group),
                due=anchor.date() + timedelta(days=task.offset),
                tags=set(task.tags),
                notes=task.notes,
            )
            items.append(Item(key, made_task))
    return items


def _period_end(template: FahrplanTemplate, start: date, items: list[Item]) -> date:
    if template.period_days is not None:
        return start + timedelta(days=template.period_days)
    ends = [i.entity.end.date() for i in items if isinstance(i.entity, Event)]
    ends += [i.entity.due for i in items if isinstance(i.entity, Task) and i.entity.due]
    return max([start, *ends])


def _cohort(
    store: Store, template: FahrplanTemplate, uid: str, number: int, start: date, items: list[Item]
) -> Cohort:
    end = _period_end(template, start, items)
    reveal = next(
        (
            i.entity.start.date()
            for i in items
            if isinstance(i.entity, Event) and i.key == template.reveal
        ),
        None,
    )
    title = template.title.replace("{number}", str(number))
    title = title.replace("{start_year}", str(start.year)).replace("{end_year}", str(end.year))
    data: dict[str, Any] = {
        "uid": uid,
        "programme": template.programme,
        "number": number,
        "title": title,
        "period_start": start,
        "period_end": end,
        "reveal_on": reveal,
        "total_cost": template.total_cost,
        "organisations": _previous_organisations(store, template.programme, number),
    }
    if template.fee_per_mentee is not None:
        data["fee_per_mentee"] = template.fee_per_mentee
    return Cohort.model_validate(data)


def _previous_organisations(store: Store, programme: str, number: int) -> list[str]:
    """The organisations of the programme's latest earlier cohort: the usual starting point."""
    earlier = [
        c
        for c in store.entities("cohort")
        if isinstance(c, Cohort) and c.programme == programme and c.number < number
    ]
    return max(earlier, key=lambda c: c.number).organisations if earlier else []


def _records(store: Store, cohort: str) -> dict[str, tuple[str, dict[str, Any]]]:
    rows = store.db.execute(
        "SELECT key, uid, produced FROM fahrplan_items WHERE cohort = ?", (cohort,)
    ).fetchall()
    return {key: (uid, json.loads(data)) for key, uid, data in rows}


def _remember(store: Store, cohort: str, key: str, entity: Entity) -> None:
    store.db.execute(
        "INSERT OR REPLACE INTO fahrplan_items VALUES (?, ?, ?, ?, ?)",
        (cohort, key, entity.uid, json.dumps(produced(entity)), utcnow().isoformat()),
    )


def _decide(store: Store, item: Item, record: tuple[str, dict[str, Any]] | None) -> Outcome:
    entity = item.entity
    outcome = Outcome(item.key, entity.uid, entity.kind, "created")
    existing = store.get(entity.uid, include_deleted=True)
    if existing is None:
        return outcome
    if store.is_deleted(entity.uid):
        outcome.action, outcome.why = "kept", N_("deleted by the council")
    elif record is None or existing.kind != entity.kind:
        outcome.action, outcome.why = "kept", N_("not made by this template")
    elif produced(existing) != record[1]:
        outcome.action, outcome.why = "kept", N_("changed by the council")
    elif produced(existing) == produced(entity):
        outcome.action = "unchanged"
    else:
        outcome.action = "updated"
    return outcome


def apply_template(
    store: Store,
    template: FahrplanTemplate,
    template_name: str,
    *,
    number: int,
    start: date,
    dry_run: bool = False,
) -> FahrplanReport:
    """Create or update cohort ``<programme>-<number>`` from ``template``."""
    ensure_tables(store)
    uid = f"{template.programme}-{number}"
    existing = store.get(uid)
    if existing is not None and not isinstance(existing, Cohort):
        raise InputError(
            _("{uid!r} is {kind}, not a cohort").format(uid=uid, kind=kind_label(existing.kind))
        )
    records = _records(store, uid)
    if existing is not None and COHORT_KEY not in records:
        raise InputError(
            _(
                "cohort {uid} exists and was not made from a Fahrplan template; "
                "its plan belongs to the council (import or edit its events and tasks instead)"
            ).format(uid=uid)
        )
    try:
        items = plan_items(template, uid, number, start)
        cohort = _cohort(store, template, uid, number, start, items)
    except ValueError as exc:  # pydantic's ValidationError included
        raise InputError(
            _("{template}: the template gives invalid items: {reason}").format(
                template=template_name, reason=exc
            )
        ) from None
    planned = [Item(COHORT_KEY, cohort), *items]
    report = FahrplanReport(uid, template_name, written=not dry_run)
    writes: list[tuple[Item, Entity]] = []
    for item in planned:
        outcome = _decide(store, item, records.get(item.key))
        report.outcomes.append(outcome)
        if outcome.action == "created":
            writes.append((item, item.entity))
        elif outcome.action == "updated":
            current = store.get(item.entity.uid)
            assert current is not None
            changes = {k: getattr(item.entity, k) for k in MANAGED[current.kind]}
            writes.append((item, current.touched(**changes)))
    planned_keys = {item.key for item in planned}
    removals = []
    for key, (item_uid, last) in sorted(records.items()):
        if key in planned_keys:
            continue
        current = store.get(item_uid)
        if current is None:
            continue
        if produced(current) == last:
            report.outcomes.append(Outcome(key, item_uid, current.kind, "removed"))
            removals.append((key, item_uid))
        else:
            why = N_("changed by the council; no longer in the template")
            report.outcomes.append(Outcome(key, item_uid, current.kind, "kept", why))
    _check(store, [entity for _, entity in writes])
    if dry_run:
        return report
    with store.transaction():
        for _item, entity in writes:
            store.put(entity)
        for item in planned:
            outcome = next(o for o in report.outcomes if o.key == item.key)
            if outcome.action in ("created", "updated", "unchanged"):
                _remember(store, uid, item.key, item.entity)
        for key, item_uid in removals:
            store.tombstone(item_uid)
            store.db.execute("DELETE FROM fahrplan_items WHERE cohort = ? AND key = ?", (uid, key))
    return report


def _check(store: Store, entities: list[Entity]) -> None:
    overlay = Overlay(store)
    for entity in entities:
        overlay.put(entity)
    problems = [
        f"{e.kind} {e.uid}: {p.field}: {p.message}" for e in entities for p in check(e, overlay)
    ]
    if problems:
        raise InputError(_("the cohort cannot be created as the template says"), problems=problems)
