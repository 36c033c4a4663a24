"""Dotted paths into canonical entities: checking them against the model, reading, writing.

``applicant.organisation.short_name`` on an application follows the ``applicant`` reference
to a person, then ``organisation`` to an organisation, and reads ``short_name``. References
are listed in :data:`sync.model.REFERENCES`.
"""

from __future__ import annotations

from typing import Any, Protocol

from mappings.derived import DERIVED
from sync.i18n import _
from sync.model import COMPUTED, REFERENCES, Entity, entity_type


class Embargoed(Exception):
    """A path reached into a tandem while tandems must stay secret for this audience."""


class Lookup(Protocol):
    """Read access to the canonical entities of one pass."""

    def get(self, uid: str) -> Entity | None:
        """The live entity with ``uid``."""

    def all(self, kind: str) -> list[Entity]:
        """All live entities of ``kind``."""


def check_path(kind: str, path: str) -> str | None:
    """Problem with ``path`` on entities of ``kind``, or None if it resolves.

    Returns a message naming the bad segment and the names that would be valid there.
    """
    current = kind
    parts = path.split(".")
    for index, part in enumerate(parts):
        fields = entity_type(current).model_fields
        if part not in fields and part not in COMPUTED.get(current, ()):
            valid = sorted([*fields, *COMPUTED.get(current, ())])
            where = ".".join(parts[:index]) or current
            return _("{where} has no field {field}; valid: {valid}").format(
                where=where, field=repr(part), valid=", ".join(valid)
            )
        ref = REFERENCES.get((current, part))
        if index < len(parts) - 1:
            if ref is None:
                return _("{path} is a value, not a reference").format(
                    path=".".join(parts[: index + 1])
                )
            current = ref
    return None


def target_kind(kind: str, path: str) -> tuple[str, str]:
    """(kind of the entity holding the last segment, that segment's name)."""
    current = kind
    parts = path.split(".")
    for part in parts[:-1]:
        current = REFERENCES[(current, part)]
    return current, parts[-1]


def referenced_kind(kind: str, path: str) -> str | None:
    """The entity kind the value at ``path`` refers to, if it is a reference."""
    holder, attribute = target_kind(kind, path)
    return REFERENCES.get((holder, attribute))


def holder(entity: Entity, path: str, lookup: Lookup, *, tandems: bool = True) -> Entity | None:
    """The entity holding the last segment of ``path`` (None if a reference is empty)."""
    current: Entity | None = entity
    for part in path.split(".")[:-1]:
        if current is None:
            return None
        ref = REFERENCES[(current.kind, part)]
        if ref == "tandem" and not tandems:
            raise Embargoed(path)
        uid = getattr(current, part)
        current = lookup.get(uid) if uid else None
    if current is not None and current.kind == "tandem" and not tandems:
        raise Embargoed(path)
    return current


def read(entity: Entity, path: str, lookup: Lookup, *, tandems: bool = True) -> Any:
    """The value at ``path`` (None where a reference on the way is empty)."""
    owner = holder(entity, path, lookup, tandems=tandems)
    if owner is None:
        return None
    attribute = path.rsplit(".", 1)[-1]
    derive = DERIVED.get((owner.kind, attribute))
    if derive is not None:
        return derive(owner, lookup)
    is_tandem = REFERENCES.get((owner.kind, attribute)) == "tandem"
    if is_tandem and not tandems and getattr(owner, attribute):
        raise Embargoed(path)
    return getattr(owner, attribute)
