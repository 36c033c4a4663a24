"""What an adapter declares about its platform, once, next to its class.

A :class:`Platform` says which ``kind`` a mapping's target names, which TOML table under
``[[rules]]`` describes its collections (``[rules.deck]``), the pydantic model of that table,
the option that names the collection, and how a target of the kind is built. The mapping
language, its checks, the target factory and the engine read these declarations instead of
switching on the kind; :mod:`connector.registry` holds them.

Optional capabilities are small protocols the code checks for: a target that can post a
circular (:class:`Announcing`), a collection table that wants the cohort's organisations
(:class:`WantsOrganisations`), a table that offers a fixed set of values for some remote
fields (:class:`OffersValues`), a table that lays out its records for `connector show`
(:class:`Describes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from pydantic import AfterValidator, BaseModel, ConfigDict

from connector.base import Collection, RemoteField, RemoteRecord, Target
from connector.i18n import _


class Options(BaseModel):
    """Base of a collection table's model: unknown keys are errors, values are frozen."""

    # defer_build: only the platforms a mapping uses build their validators.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def matching(regex: str, what: str) -> AfterValidator:
    """A validator with a readable message instead of pydantic's raw regex (``what`` is
    marked with ``N_`` and shown in the user's language)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(_("{value} is not {what}").format(value=repr(value), what=_(what)))
        return value

    return AfterValidator(check)


@dataclass(frozen=True)
class Holds:
    """A platform whose collections hold only one entity kind, found by a key field, because
    its records carry no marker (a list's members)."""

    entity: str
    #: The words for a wrong ``entity``, e.g. ``a mailing list holds people``.
    what: str
    key: str
    #: The words for a missing ``key``, e.g. ``list members carry no marker``.
    why: str


@dataclass(frozen=True)
class Platform:
    """One platform kind as mapping files, checks, factory and engine see it."""

    #: The ``kind`` a target names in a mapping file (``deck``).
    kind: str
    #: The adapter class, or ``"module:Class"`` to import it only when needed.
    target: type[Target] | str
    #: The TOML table under ``[[rules]]`` describing a collection (``deck`` for
    #: ``[rules.deck]``); None for a kind that serves every table (the memory target).
    table: str | None = None
    #: The pydantic model of that table.
    options: type[BaseModel] | None = None
    #: The option naming the collection (board title, calendar id, list address).
    name_field: str = ""
    #: The rule's attribute holding the table, when it differs from ``table``.
    attribute: str | None = None
    #: What one collection is called in messages (``board``).
    noun: str = "collection"
    #: Target keyword arguments taken from the target's mapping entry (argument -> key).
    settings: Mapping[str, str] = field(default_factory=dict)
    #: URL schemes a target's ``url`` may use; empty for any.
    schemes: Sequence[str] = ("http", "https")
    #: Collections hold one entity kind, adopted by a key (see :class:`Holds`).
    holds: Holds | None = None
    #: Collection names are public (list addresses): logs need not hide them.
    public_names: bool = False
    #: What its records are called in an erasure receipt (``cards``).
    records: str = "records"
    #: Fields an erasure overwrites before deleting, because the platform only soft-deletes
    #: (Deck keeps deleted cards in its database); None when a delete is a delete.
    erase_overwrite: Mapping[str, Any] | None = None

    @property
    def serves_any_table(self) -> bool:
        """Whether targets of this kind take a collection of any table (the memory target)."""
        return self.table is None

    @property
    def rule_attribute(self) -> str:
        """The attribute of a mapping rule that holds this platform's table."""
        return self.attribute or self.table or self.kind

    def target_class(self) -> type[Target]:
        """The adapter class (imported on first use when declared as a string)."""
        if isinstance(self.target, str):
            module, _, name = self.target.partition(":")
            cls: type[Target] = getattr(import_module(module), name)
            return cls
        return self.target

    @property
    def fields(self) -> Mapping[str, RemoteField]:
        """The remote fields targets of this kind offer."""
        return self.target_class().FIELDS

    def collection_name(self, table: BaseModel) -> str:
        """The name of the collection a table describes."""
        return str(getattr(table, self.name_field))


@runtime_checkable
class Announcing(Protocol):
    """Optional capability of a target: post a circular to a collection's members."""

    def announce(
        self, collection: Collection, subject: str, body: str, *, sender: str, dry_run: bool
    ) -> Any:
        """Check (``dry_run``) or post a message to every member of ``collection``."""


@runtime_checkable
class WantsOrganisations(Protocol):
    """Optional capability of a collection table: options that grow with the cohort's
    member organisations (one Deck label per organisation)."""

    def with_organisations(self, options: dict[str, Any], short_names: list[str]) -> None:
        """Add what ``short_names`` (the organisations' short names) ask for to ``options``."""


@runtime_checkable
class OffersValues(Protocol):
    """Optional capability of a collection table: remote fields whose values must be among
    the ones it lists (a board's stacks and labels)."""

    def offered(self) -> Mapping[str, Sequence[str]]:
        """Remote field name -> the values the collection offers for it."""


@runtime_checkable
class Describes(Protocol):
    """Optional capability of a collection table: its records as text, the way a person
    sees the collection on the platform (`connector show`)."""

    def describe(self, records: Sequence[RemoteRecord], when: Callable[[Any], str]) -> list[str]:
        """Lines showing ``records``; ``when`` renders a time as the reader's local time."""


@runtime_checkable
class ErasesAddresses(Protocol):
    """Optional capability of a target: delete the platform's own accounts of e-mail
    addresses (a Mailman user keeps every address it ever had)."""

    def erase_addresses(self, emails: Iterable[str]) -> int:
        """Delete whatever the platform holds for ``emails``; the number of addresses deleted."""


@runtime_checkable
class SharedWithGroups(Protocol):
    """Optional capability of a collection table: the groups whose members edit it."""

    def editing_groups(self) -> set[str]:
        """The groups the collection is shared with for editing."""
