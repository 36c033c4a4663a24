"""Writing an entity a pass read earlier, when another writer may have written it since.

A pass reads the catalog at its start and writes entities minutes later; an import or a
person's command may have written the same entity in between. The store's revision per
entity tells (see :meth:`sync.store.Store.put`). A stale write is never applied blindly: it
is merged again, field by field, against what the pass read — the pass's own changes are
laid over the store's current entity, set fields merge per element, and a field both
writers changed differently keeps the store's value (the caller reports it and keeps the
old base, so the next pass merges the platform's value again by the field's policy).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sync.catalog import Catalog
from sync.model import Entity
from sync.store import StaleWrite, Store

_BOOKKEEPING = frozenset({"uid", "updated_at"})


def remerge(read: Entity, ours: Entity, theirs: Entity) -> tuple[Entity, set[str]]:
    """``theirs`` with the changes ``ours`` made to ``read``; and the fields both changed
    differently (left as ``theirs`` has them)."""
    changes: dict[str, Any] = {}
    clashes: set[str] = set()
    for name in type(ours).model_fields:
        if name in _BOOKKEEPING:
            continue
        was, mine, now = getattr(read, name), getattr(ours, name), getattr(theirs, name)
        if mine in (was, now):
            continue
        if now == was:
            changes[name] = mine
        elif isinstance(mine, set | frozenset) and isinstance(was, set | frozenset):
            changes[name] = (set(now) | (set(mine) - set(was))) - (set(was) - set(mine))
        else:
            clashes.add(name)
    if not changes:
        return theirs, clashes
    data = {**theirs.model_dump(), **changes, "updated_at": max(ours.updated_at, theirs.updated_at)}
    try:
        return type(theirs).model_validate(data), clashes
    except ValidationError:
        # Each writer's entity is valid, their mixture is not: the store's stands whole.
        return theirs, clashes | set(changes)


def write_checked(store: Store, catalog: Catalog, entity: Entity) -> tuple[Entity | None, set[str]]:
    """Write ``entity`` (a changed copy of what ``catalog`` holds) unless someone wrote it
    since the catalog read it; then write the re-merge instead. Returns what was written
    (None: the entity was deleted meanwhile, the deletion stands) and the fields the pass
    changed that were not written."""
    read = catalog.get(entity.uid)
    expect = catalog.revision(entity.uid) if read is not None else 0
    with store.transaction():
        try:
            revision = store.put(entity, expect=expect)
        except StaleWrite:
            theirs = store.get(entity.uid)
            if theirs is None or read is None:
                if theirs is None:
                    catalog.remove(entity.uid)
                    return None, _changed(read, entity)
                return theirs, _changed(theirs, entity)
            merged, clashes = remerge(read, entity, theirs)
            revision = store.put(merged, expect=store.revision(entity.uid))
            catalog.put(merged, revision)
            return merged, clashes
    catalog.put(entity, revision)
    return entity, set()


def _changed(read: Entity | None, ours: Entity) -> set[str]:
    if read is None:
        return set(type(ours).model_fields) - _BOOKKEEPING
    return {
        name
        for name in type(ours).model_fields
        if name not in _BOOKKEEPING and getattr(read, name) != getattr(ours, name)
    }
