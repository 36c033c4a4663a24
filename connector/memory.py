"""An in-memory target: the engine's test double and a sandbox for trying mappings.

Targets built with the same ``memory://NAME`` URL on one :class:`MemoryWorld` share their
records (the process-wide :data:`WORLD` unless one is given), so a test can play the person
editing "on the platform" through :meth:`MemoryTarget.edit` and friends while the engine
syncs. Faults can be injected: ``crash_after_write`` raises after a
write has landed (the crash the journal must heal), ``outage`` makes every call fail with
``RetryLater``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from connector.base import Changes, Collection, FieldType, RemoteField, RemoteRecord, Target
from connector.errors import NotFound, PreconditionFailed, RetryLater
from connector.platform import Platform

_FIELD_NAMES = (
    "title description stack labels assignees due archived summary location start end "
    "all_day attendees categories status email display_name delivery_status text tags"
).split()
_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(("labels", "assignees", "attendees", "categories", "tags"), "set"),
    **dict.fromkeys(("due", "start", "end"), "datetime"),
    **dict.fromkeys(("archived", "all_day"), "bool"),
    "email": "email",
}


class SimulatedCrash(RuntimeError):
    """Raised by ``crash_after_write``: the write landed, the caller never heard back."""


@dataclass
class _Record:
    fields: dict[str, Any]
    marker: str | None
    version: int


@dataclass
class _Space:
    """The shared state behind one ``memory://NAME``."""

    collections: dict[str, dict[str, _Record]] = field(default_factory=dict)
    clock: int = 0
    next_id: int = 1
    deleted_at: dict[str, dict[str, int]] = field(default_factory=dict)


class MemoryWorld:
    """The platforms behind ``memory://`` URLs: one space of collections per name."""

    def __init__(self) -> None:
        self.spaces: dict[str, _Space] = {}

    def space(self, name: str) -> _Space:
        """The space behind ``memory://NAME`` (made on first use)."""
        return self.spaces.setdefault(name, _Space())

    def reset(self) -> None:
        """Forget every space."""
        self.spaces.clear()


#: The world targets share unless given their own (the one ``connector sync`` builds on).
WORLD = MemoryWorld()


class MemoryTarget(Target):
    """A target that keeps records in a dict; conditional writes by version etag."""

    kind = "memory"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = {
        name: RemoteField(name, _TYPES.get(name, "text")) for name in _FIELD_NAMES
    }

    def __init__(
        self,
        url: str = "memory://default",
        user: str = "",
        password: str = "",
        *,
        world: MemoryWorld | None = None,
        **_options: Any,
    ) -> None:
        super().__init__()
        self.name = url.removeprefix("memory://") or "default"
        self.world = WORLD if world is None else world
        self.space = self.world.space(self.name)
        self.crash_after_write: Callable[[str], bool] | None = None
        self.outage = False

    @classmethod
    def reset(cls) -> None:
        """Forget every space of the shared :data:`WORLD` (between tests)."""
        WORLD.reset()

    # -- the Target interface -----------------------------------------------------------

    def open(self, collection: Collection) -> None:
        """Create the collection if it is missing."""
        self._call()
        self.space.collections.setdefault(collection.name, {})
        self.space.deleted_at.setdefault(collection.name, {})

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Records changed since the cursor's clock; everything when cursor is None."""
        self._call()
        records = self._records(collection)
        since = json.loads(cursor)["clock"] if cursor else None
        now = json.dumps({"clock": self.space.clock})
        if since is None:
            return Changes([self._out(i, r) for i, r in records.items()], set(), True, now)
        changed = [self._out(i, r) for i, r in records.items() if r.version > since]
        gone = {i for i, at in self.space.deleted_at[collection.name].items() if at > since}
        return Changes(changed, gone, False, now)

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """One record; NotFound when gone."""
        self._call()
        record = self._records(collection).get(remote_id)
        if record is None:
            raise NotFound(f"{collection.name}/{remote_id} is gone")
        return self._out(remote_id, record)

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """Add a record carrying ``uid`` as marker."""
        self._call()
        remote_id = f"m{self.space.next_id}"
        self.space.next_id += 1
        self._records(collection)[remote_id] = _Record(dict(fields), uid, self._tick())
        return self._landed("create", remote_id, collection)

    def update(
        self, collection: Collection, remote_id: str, changes: Mapping[str, Any], etag: str | None
    ) -> RemoteRecord:
        """Change some fields; PreconditionFailed if ``etag`` is stale."""
        self._call()
        record = self._records(collection).get(remote_id)
        if record is None:
            raise NotFound(f"{collection.name}/{remote_id} is gone")
        if etag is not None and etag != str(record.version):
            raise PreconditionFailed(f"{collection.name}/{remote_id} changed meanwhile")
        record.fields.update(changes)
        record.version = self._tick()
        return self._landed("update", remote_id, collection)

    marks_records = True

    def mark(
        self, collection: Collection, remote_id: str, uid: str, etag: str | None
    ) -> RemoteRecord:
        """Give a record ``uid`` as its marker; PreconditionFailed if ``etag`` is stale."""
        self._call()
        record = self._records(collection).get(remote_id)
        if record is None:
            raise NotFound(f"{collection.name}/{remote_id} is gone")
        if etag is not None and etag != str(record.version):
            raise PreconditionFailed(f"{collection.name}/{remote_id} changed meanwhile")
        record.marker = uid
        record.version = self._tick()
        return self._landed("mark", remote_id, collection)

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """Remove a record; already gone is fine."""
        self._call()
        records = self._records(collection)
        record = records.get(remote_id)
        if record is None:
            return
        if etag is not None and etag != str(record.version):
            raise PreconditionFailed(f"{collection.name}/{remote_id} changed meanwhile")
        del records[remote_id]
        self.space.deleted_at[collection.name][remote_id] = self._tick()
        if self.crash_after_write and self.crash_after_write("delete"):
            raise SimulatedCrash("crash after delete")

    # -- playing the person on the platform ---------------------------------------------

    def add(self, collection: str, fields: Mapping[str, Any], marker: str | None = None) -> str:
        """A record added by hand on the platform; returns its id."""
        space = self.space.collections.setdefault(collection, {})
        remote_id = f"m{self.space.next_id}"
        self.space.next_id += 1
        space[remote_id] = _Record(dict(fields), marker, self._tick())
        self.space.deleted_at.setdefault(collection, {})
        return remote_id

    def edit(self, collection: str, remote_id: str, **fields: Any) -> None:
        """A person edits a record on the platform."""
        record = self.space.collections[collection][remote_id]
        record.fields.update(fields)
        record.version = self._tick()

    def remove(self, collection: str, remote_id: str) -> None:
        """A person deletes a record on the platform."""
        del self.space.collections[collection][remote_id]
        self.space.deleted_at[collection][remote_id] = self._tick()

    def records(self, collection: str) -> dict[str, RemoteRecord]:
        """Everything in a collection, by id (for assertions)."""
        return {i: self._out(i, r) for i, r in self.space.collections.get(collection, {}).items()}

    # -- internals ----------------------------------------------------------------------

    def _call(self) -> None:
        self.requests += 1
        if self.outage:
            raise RetryLater(f"memory://{self.name} is down")

    def _tick(self) -> int:
        self.space.clock += 1
        return self.space.clock

    def _records(self, collection: Collection) -> dict[str, _Record]:
        if collection.name not in self.space.collections:
            raise NotFound(f"collection {collection.name!r} does not exist")
        return self.space.collections[collection.name]

    def _landed(self, op: str, remote_id: str, collection: Collection) -> RemoteRecord:
        if self.crash_after_write and self.crash_after_write(op):
            raise SimulatedCrash(f"crash after {op}")
        return self._out(remote_id, self._records(collection)[remote_id])

    @staticmethod
    def _out(remote_id: str, record: _Record) -> RemoteRecord:
        return RemoteRecord(remote_id, dict(record.fields), str(record.version), record.marker)


PLATFORM = Platform(kind="memory", target=MemoryTarget, schemes=())
