"""The canonical entities of one pass, indexed in memory (the mapping code's Lookup)."""

from __future__ import annotations

import json
from collections import defaultdict

from sync.model import Entity, entity_type
from sync.store import Store


class Catalog:
    """Live entities by uid and by kind; kept current as the pass writes."""

    def __init__(self, entities: list[Entity]) -> None:
        self._by_uid: dict[str, Entity] = {}
        #: Entities read from the store and not yet decoded: uid -> (kind, JSON). A pass
        #: decodes those it plans; the settled ones of a quiet pass are never needed.
        self._rows: dict[str, tuple[str, str]] = {}
        self._by_kind: dict[str, set[str]] = defaultdict(set)
        self._revisions: dict[str, int] = {}
        #: The store's change sequence before the entities were read (None: not from a
        #: store); a write after it has a higher number (see :mod:`sync.plan_skip`).
        self.seq: int | None = None
        for entity in entities:
            self.put(entity)

    @classmethod
    def load(cls, store: Store) -> Catalog:
        """Every live entity of the store, with the revision it was read at."""
        catalog = cls([])
        catalog.seq = store.change_seq()
        for uid, kind, data, revision in store.revised_rows():
            catalog._rows[uid] = (kind, data)
            catalog._by_kind[kind].add(uid)
            catalog._revisions[uid] = revision
        return catalog

    def refresh(self, store: Store) -> bool:
        """Take in what was written to the store since this catalog was current (another
        process's import, a person's edit); False if that cannot be told (an entity row was
        removed outright): then load it anew."""
        if self.seq is None or store.removed_since(self.seq)[0]:
            return False
        now = store.change_seq()
        for uid, kind, data, revision, live in store.entities_written_since(self.seq):
            if live:
                self.put(entity_type(kind).model_validate_json(data), revision)
            else:
                self.remove(uid)
                self._revisions[uid] = revision
        self.seq = now
        return True

    def current_seq(self, store: Store) -> int | None:
        """The store's change sequence now, if this catalog holds every write since it was
        loaded (the pass's own writes are put here too); else the sequence it was loaded
        at (another process wrote meanwhile), or None if it was not loaded from a store."""
        if self.seq is None:
            return None
        now = store.change_seq()
        for uid, revision, live in store.written_since(self.seq):
            held = uid in self._by_uid or uid in self._rows
            if (not held or self._revisions.get(uid) != revision) if live else held:
                return self.seq
        return now

    def revision(self, uid: str) -> int | None:
        """The store revision ``uid`` was read (or last written) at; None if unknown."""
        return self._revisions.get(uid)

    def get(self, uid: str) -> Entity | None:
        """The live entity with ``uid``."""
        entity = self._by_uid.get(uid)
        if entity is None and uid in self._rows:
            kind, data = self._rows.pop(uid)
            entity = self._by_uid[uid] = entity_type(kind).model_validate_json(data)
        return entity

    def value(self, uid: str, name: str) -> object:
        """The field ``name`` of the live entity ``uid`` as stored (None if absent), read
        without building the entity when it is not decoded yet: a plain JSON value."""
        entity = self._by_uid.get(uid)
        if entity is not None:
            return getattr(entity, name, None)
        row = self._rows.get(uid)
        return None if row is None else json.loads(row[1]).get(name)

    def uids(self, kind: str) -> list[str]:
        """The uids of all live entities of ``kind``, ordered (none decoded for it)."""
        return sorted(self._by_kind[kind])

    def all(self, kind: str) -> list[Entity]:
        """All live entities of ``kind``, ordered by uid."""
        return [entity for uid in self.uids(kind) if (entity := self.get(uid)) is not None]

    def entities(self, kind: str) -> list[Entity]:
        """Same as :meth:`all` (the name :mod:`sync.integrity` reads by)."""
        return self.all(kind)

    def put(self, entity: Entity, revision: int | None = None) -> None:
        """Add or replace an entity (at ``revision`` of the store, if known)."""
        if revision is not None:
            self._revisions[entity.uid] = revision
        self._forget(entity.uid)
        self._by_uid[entity.uid] = entity
        self._by_kind[entity.kind].add(entity.uid)

    def remove(self, uid: str) -> None:
        """Drop an entity (tombstoned)."""
        self._forget(uid)

    def _forget(self, uid: str) -> None:
        entity = self._by_uid.pop(uid, None)
        row = self._rows.pop(uid, None)
        kind = entity.kind if entity is not None else row[0] if row is not None else None
        if kind is not None:
            self._by_kind[kind].discard(uid)
