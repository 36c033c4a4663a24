"""What the planner hands to the apply step: items (one record's writes), per rule.

An :class:`Item` names its :class:`Action`; the apply step dispatches on it, the plan output
and the logs print its value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from connector.base import RemoteRecord
from mappings.fields import Codec
from mappings.paths import Lookup
from mappings.schema import Rule
from sync.model import Audience
from sync.store import Conflict, JournalEntry, Link

DETACHED = "detached:"


class Action(StrEnum):
    """What an item does. The value is what the store's pass summaries, ``--json`` output and
    log events carry (a ``StrEnum``: it prints and serialises as that plain string)."""

    CREATE = "create"
    RESTORE = "restore"
    UPDATE = "update"
    ADOPT = "adopt"
    DELETE = "delete"
    IMPORT = "import"
    TOMBSTONE = "tombstone"
    OPT_OUT = "opt_out"
    UNLINK = "unlink"
    DETACH = "detach"

    @property
    def merges(self) -> bool:
        """Whether the item merges a linked or found record (and so may change nothing)."""
        return self in (Action.UPDATE, Action.ADOPT)


@dataclass(frozen=True)
class RuleView:
    """A rule compiled for planning: its codecs keyed by base field name."""

    rule: Rule
    #: The rule's name in the store: unique across mapping files (``cohort:rule``).
    key: str
    target: str
    collection: str
    audience: Audience
    codecs: Mapping[str, Codec]
    default_cohort: str | None
    #: Whether the target can give an existing record a marker (adopted, imported ones).
    marks: bool = False


@dataclass(frozen=True)
class Held:
    """What the platform is known to hold of a record before an item's writes: the base to
    link it with should those writes fail (see :func:`held_base`)."""

    base: dict[str, Any]
    seen: dict[str, Any]
    etag: str | None


@dataclass
class Item:
    """One record's plan: the writes on each side, the new base, and conflicts to park."""

    action: Action
    uid: str | None
    remote_id: str | None = None
    etag: str | None = None
    remote: dict[str, Any] = field(default_factory=dict)
    canonical: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    conflicts: list[tuple[str, Any, Any, Any]] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    #: The ``resolved_at`` of each conflict in ``closes`` as planned: a conflict a person
    #: resolved since is not closed, so the next pass applies the resolution.
    resolutions_read: dict[int, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    heal: bool = False
    #: Fields of an imported record whose value could not become canonical: their base is
    #: set from the new entity once it exists, so the platform's value is left alone.
    unsettled: list[str] = field(default_factory=list)
    #: For a merged record: the base and the record as pulled, from which the link is
    #: saved if this item's writes fail (later passes merge from what the platform holds).
    held: Held | None = None
    #: Whether the record must be given its entity's uid as marker (it carries none, or
    #: another record's: made by hand, adopted by key, copied).
    mark: bool = False

    @property
    def writes(self) -> bool:
        """Whether applying this item changes anything (an adoption at least links)."""
        return bool(
            not self.action.merges
            or self.action is Action.ADOPT
            or self.remote
            or self.canonical
            or self.conflicts
            or self.closes
            or self.mark
        )

    @property
    def counted(self) -> bool:
        """Whether the item counts towards its action in a rule's counts (an adopted record
        always: it is linked; an updated one only when it changes the record, the entity, a
        conflict or the marker)."""
        return bool(
            self.action is not Action.UPDATE
            or self.remote
            or self.canonical
            or self.closes
            or self.mark
        )


@dataclass
class Snapshot:
    """What the pull step found for one rule."""

    links: dict[str, Link]
    records: dict[str, RemoteRecord]
    conflicts: dict[tuple[str, str], Conflict]
    journal: list[JournalEntry]
    is_deleted: Callable[[str], bool]
    #: Linked uids whose merge would change nothing, as nothing it reads changed since the
    #: rule's last complete plan (see :mod:`sync.plan_skip`): the planner leaves them out.
    settled: frozenset[str] = frozenset()


@dataclass
class RulePlan:
    """All items of one rule, and how many linked records the target lost."""

    items: list[Item]
    lost: int
    linked: int
    unlinked_remote: list[str]
    #: The uids the rule had links for when planned.
    linked_uids: frozenset[str] = frozenset()
    #: Entities held back by the embargo because their fields name both partners of a tandem.
    withheld: list[str] = field(default_factory=list)
    #: What the operator should know that is not a change (e.g. a copied record left alone).
    notes: list[str] = field(default_factory=list)
    #: Unlinked records carrying the marker of an entity the rule no longer covers.
    out_of_scope: int = 0


def held_base(
    view: RuleView, intended: Mapping[str, Any], record: RemoteRecord, lookup: Lookup
) -> dict[str, Any]:
    """The base of a record whose create we began: what the platform is known to hold.

    A create takes several requests on some platforms (a Deck card: the card, then each
    label and assignee), and any of them may fail or be cut short by a crash. A field that
    shows the value the create meant to write is agreed; any other field is known to hold
    only what it held before the create, i.e. nothing. So the merge writes the missing step
    again instead of taking its absence for someone's deletion of a canonical value.
    """
    base: dict[str, Any] = {}
    for key, value in intended.items():
        codec = view.codecs.get(key)
        if codec is None:
            continue
        held = codec.view(record.fields.get(codec.spec.remote), lookup)
        base[key] = value if held == value else codec.view(None, lookup)
    return base
