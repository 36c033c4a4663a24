"""One record as a person reads it: who or what it is, its fields, where it went, its conflicts.

:func:`label` names any entity the way the council does ("Till Gövert (Greven) – Bewerbung");
plans and conflicts use it instead of bare uids. :func:`find` looks a record up by uid or by a
person's e-mail address; :func:`record_data` and :func:`record_lines` are ``connector record``.
"""

from __future__ import annotations

from typing import Any

from connector.errors import InputError
from sync.display import local_time, shown_value
from sync.i18n import _
from sync.model import Application, Cohort, Entity, Event, Organisation, Person, Programme, Tandem
from sync.model import Task as TaskEntity
from sync.store import Store


def _person(store: Store, uid: str | None) -> str:
    person = store.get(uid) if uid else None
    if not isinstance(person, Person):
        return uid or "?"
    organisation = store.get(person.organisation) if person.organisation else None
    where = f" ({organisation.short_name})" if isinstance(organisation, Organisation) else ""
    return f"{person.given_name} {person.family_name}{where}"


def label(store: Store, entity: Entity | None, uid: str = "") -> str:
    """How a person names ``entity`` (``uid`` when it is gone)."""
    if entity is None:
        return uid
    if isinstance(entity, Person):
        return _person(store, entity.uid)
    if isinstance(entity, Application):
        return _person(store, entity.applicant) + " – " + _("application")
    if isinstance(entity, Tandem):
        pair = f"{_person(store, entity.mentee)} – {_person(store, entity.mentor)}"
        return _("tandem") + " " + pair
    if isinstance(entity, Event):
        return f"{entity.title}, {local_time(entity.start)}"
    if isinstance(entity, TaskEntity):
        return _("task") + f" »{entity.title}«"
    if isinstance(entity, Cohort):
        return entity.title
    if isinstance(entity, Organisation | Programme):
        return entity.name
    return entity.uid


def labels(store: Store, uids: list[str]) -> dict[str, str]:
    """:func:`label` of each of ``uids``."""
    return {uid: label(store, store.get(uid, include_deleted=True), uid) for uid in uids}


def find(store: Store, key: str) -> Entity:
    """The record with uid ``key``, or the person with e-mail ``key`` (any case)."""
    entity = store.get(key.strip(), include_deleted=True)
    if entity is not None:
        return entity
    wanted = key.strip().lower()
    for person in store.entities("person", include_deleted=True):
        if isinstance(person, Person) and person.email.lower() == wanted:
            return person
    error = InputError(_("no record with uid or e-mail {key!r}").format(key=key))
    error.hint = _("uids are shown by `connector plan` and `connector conflicts`")
    raise error


def record_data(store: Store, entity: Entity) -> dict[str, Any]:
    """``connector record --json``: fields, links per rule, last sync, open conflicts."""
    rows = store.db.execute(
        "SELECT rule, target, remote_id, synced_at FROM links WHERE uid = ? ORDER BY rule",
        (entity.uid,),
    ).fetchall()
    links = [
        {"rule": rule, "target": target, "remote_id": remote_id, "synced_at": synced_at}
        for rule, target, remote_id, synced_at in rows
    ]
    conflicts = [c for c in store.conflicts() if c.uid == entity.uid]
    fields = entity.model_dump(mode="json")
    references = {}
    for key, value in fields.items():
        uids = value if isinstance(value, list) else [value]
        found = [store.get(uid) for uid in uids if isinstance(uid, str) and key != "uid"]
        if found and all(found):
            references[key] = ", ".join(label(store, other) for other in found)
    return {
        "kind": entity.kind,
        "uid": entity.uid,
        "label": label(store, entity),
        "deleted": store.is_deleted(entity.uid),
        "fields": fields,
        "references": references,
        "links": links,
        "last_sync": max((link["synced_at"] for link in links), default=None),
        "open_conflicts": [
            {"id": c.id, "rule": c.rule, "field": c.field, "canonical": c.canonical,
             "remote": c.remote}
            for c in conflicts
        ],
    }  # fmt: skip


def record_lines(data: dict[str, Any]) -> list[str]:
    """``connector record``: the record as text."""
    lines = [f"{data['label']}  ({data['kind']} {data['uid']})"]
    if data["deleted"]:
        lines.append("  " + _("deleted"))
    lines.append(_("Fields:"))
    width = max(len(key) for key in data["fields"]) + 1
    for key, value in data["fields"].items():
        named = data["references"].get(key)
        shown = f"{named} [{shown_value(value, 40)}]" if named else shown_value(value, 70)
        lines.append(f"  {key + ':':<{width}} {shown}")
    lines.append(_("Linked to:") + ("" if data["links"] else " " + _("nothing yet")))
    for link in data["links"]:
        lines.append(
            f"  {link['rule']} → {link['target']}: {link['remote_id']}  "
            + _("(synced {when})").format(when=local_time(link["synced_at"]))
        )
    last = local_time(data["last_sync"]) if data["last_sync"] else _("never")
    lines.append(_("Last sync: {when}").format(when=last))
    conflicts = data["open_conflicts"]
    lines.append(_("Open conflicts: {count}").format(count=len(conflicts)))
    for c in conflicts:
        lines.append(
            f"  #{c['id']} {c['rule']} {c['field']}: "
            + _("here {canonical} vs there {remote}").format(
                canonical=shown_value(c["canonical"], 30), remote=shown_value(c["remote"], 30)
            )
        )
    return lines
