"""The canonical entities of one pass, indexed in memory (the mapping code's Lookup)."""

from __future__ import annotations

from collections import defaultdict

from sync.model import Entity, entity_type
from sync.store import Store


class Catalog:
    """Live entities by uid and by kind; kept current as the pass writes."""

    def __init__(self, entities: list[Entity]) -> None:
        self._by_uid: dict[str, Entity] = {}
        self._by_kind: dict[str, dict[str, Entity]] = defaultdict(dict)
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
        for entity, revision in store.revised():
            catalog.put(entity, revision)
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
            held = uid in self._by_uid
            if (not held or self._revisions.get(uid) != revision) if live else held:
                return self.seq
        return now

    def revision(self, uid: str) -> int | None:
        """The store revision ``uid`` was read (or last written) at; None if unknown."""
        return self._revisions.get(uid)

    def get(self, uid: str) -> Entity | None:
        """The live entity with ``uid``."""
        return self._by_uid.get(uid)

    def all(self, kind: str) -> list[Entity]:
        """All live entities of ``kind``, ordered by uid."""
        return sorted(self._by_kind[kind].values(), key=lambda e: e.uid)

    def entities(self, kind: str) -> list[Entity]:
        """Same as :meth:`all` (the name :mod:`sync.integrity` reads by)."""
        return self.all(kind)

    def put(self, entity: Entity, revision: int | None = None) -> None:
        """Add or replace an entity (at ``revision`` of the store, if known)."""
        if revision is not None:
            self._revisions[entity.uid] = revision
        self._by_uid[entity.uid] = entity
        self._by_kind[entity.kind][entity.uid] = entity

    def remove(self, uid: str) -> None:
        """Drop an entity (tombstoned)."""
        entity = self._by_uid.pop(uid, None)
        if entity is not None:
            self._by_kind[entity.kind].pop(uid, None)
