"""Three-way merge of one field: base (what both sides last agreed on), canonical, remote.

One side changed → copy it over. Both changed to the same value → agree. Both changed
differently → set-valued fields merge per element; scalar fields follow the field's policy,
and ``ask`` parks a conflict, leaving both sides as they are. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mappings.schema import Direction, Policy

#: Marks "no value": no base yet, or nothing to write.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass(frozen=True)
class Outcome:
    """What to do with one field of one record."""

    agreed: Any = MISSING
    to_remote: Any = MISSING
    to_canonical: Any = MISSING
    conflict: tuple[Any, Any, Any] | None = None

    @property
    def changes_anything(self) -> bool:
        """Whether either side must be written or a conflict parked."""
        return (
            self.to_remote is not MISSING
            or self.to_canonical is not MISSING
            or self.conflict is not None
        )


def merge_sets(base: list[str], canonical: list[str], remote: list[str]) -> list[str]:
    """Per-element merge: keep what both kept, add what either added, drop what either dropped."""
    b, c, r = set(base), set(canonical), set(remote)
    added = (c - b) | (r - b)
    removed = (b - c) | (b - r)
    return sorted((b | added) - removed)


def newer(
    canonical_at: datetime | None, remote_at: str | None
) -> Literal["canonical", "remote"] | None:
    """'canonical' or 'remote', whichever changed last; None when it cannot be told."""
    if canonical_at is None or not remote_at:
        return None
    try:
        remote_time = datetime.fromisoformat(remote_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if remote_time.tzinfo is None:
        return None
    return "remote" if remote_time > canonical_at else "canonical"


def merge_field(
    direction: Direction,
    policy: Policy,
    base: Any,
    canonical: Any,
    remote: Any,
    *,
    is_set: bool = False,
    canonical_at: datetime | None = None,
    remote_at: str | None = None,
) -> Outcome:
    """Decide one field. ``base`` is MISSING for a record never agreed on."""
    if direction == "out":
        return Outcome(agreed=canonical, to_remote=canonical if remote != canonical else MISSING)
    if direction == "in":
        return Outcome(agreed=remote, to_canonical=remote if remote != canonical else MISSING)
    if remote == canonical:
        return Outcome(agreed=canonical)
    if base is MISSING:
        # Never agreed (adopted by marker): the canonical side created it, so it leads.
        return Outcome(agreed=canonical, to_remote=canonical)
    if canonical == base:
        return Outcome(agreed=remote, to_canonical=remote)
    if remote == base:
        return Outcome(agreed=canonical, to_remote=canonical)
    return _both_changed(policy, base, canonical, remote, is_set, canonical_at, remote_at)


def _both_changed(
    policy: Policy,
    base: Any,
    canonical: Any,
    remote: Any,
    is_set: bool,
    canonical_at: datetime | None,
    remote_at: str | None,
) -> Outcome:
    if is_set:
        merged = merge_sets(base or [], canonical, remote)
        return Outcome(
            agreed=merged,
            to_remote=merged if merged != remote else MISSING,
            to_canonical=merged if merged != canonical else MISSING,
        )
    if policy == "newest":
        policy = newer(canonical_at, remote_at) or "ask"
    if policy == "canonical":
        return Outcome(agreed=canonical, to_remote=canonical)
    if policy == "remote":
        return Outcome(agreed=remote, to_canonical=remote)
    return Outcome(conflict=(base, canonical, remote))
