"""The mapping language: pydantic models of a TOML mapping file.

A mapping file declares **targets** (a platform instance: kind, URL, user, where the secret
comes from, who can see it) and **rules** (an entity kind with a filter, bound to one
collection on one target, with its fields). See ``docs/mappings.md`` for every key.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from sync.i18n import N_, _
from sync.model import Audience

TargetKind = Literal["deck", "caldav", "mailman", "memory"]
EntityKind = Literal[
    "programme", "organisation", "cohort", "person", "application", "tandem", "event", "task"
]
Direction = Literal["both", "out", "in"]
Policy = Literal["canonical", "remote", "newest", "ask"]
DeletePolicy = Literal["tombstone", "restore", "unlink", "opt_out"]
FilterValue = str | int | bool | list[str]
#: Set-valued remote fields: several fields of one rule may share them, each owning a part.
SET_FIELDS = frozenset({"labels", "assignees", "attendees", "categories"})

#: Validation context under which :class:`MappingFile` leaves its cross-references (rule
#: names, targets) to the caller; the loader checks them itself to report all, with lines.
LOADER_CHECKS_REFERENCES = {"references": "loader"}


def _matching(regex: str, what: str) -> AfterValidator:
    """A validator with a readable message instead of pydantic's raw regex (``what`` is
    marked with ``N_`` and shown in the user's language)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(_("{value} is not {what}").format(value=repr(value), what=_(what)))
        return value

    return AfterValidator(check)


Name = Annotated[
    str,
    _matching(
        r"^[a-z0-9][a-z0-9_-]{0,63}$",
        N_("a valid name: lower-case letters, digits, '_' or '-', at most 64 (e.g. nextcloud)"),
    ),
]
Path = Annotated[
    str,
    _matching(
        r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$",
        N_("a dotted path of lower-case field names (e.g. applicant.organisation)"),
    ),
]
ListAddress = Annotated[
    str,
    _matching(
        r"^[a-z0-9][a-z0-9._-]*@[a-z0-9.-]+$",
        N_("a lower-case list address (e.g. mentees-10@mentoring.example.org)"),
    ),
]
CalendarId = Annotated[
    str,
    _matching(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        N_("a calendar id of letters, digits, '.', '_' or '-' (e.g. mim-10-fahrplan)"),
    ),
]
EnvName = Annotated[
    str, _matching(r"^[A-Za-z_][A-Za-z0-9_]*$", N_("an environment variable name (e.g. DECK_PW)"))
]


class Strict(BaseModel):
    """Base for mapping models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(Strict):
    """Where a target's password comes from: an environment variable or a command's output."""

    env: EnvName | None = Field(default=None, description="name of an environment variable")
    command: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None, description="command whose stdout is the secret (run without a shell)"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Secret:
        if (self.env is None) == (self.command is None):
            raise ValueError(_("give exactly one of `env` or `command`"))
        return self


class TargetSpec(Strict):
    """A platform instance the connector writes to."""

    kind: TargetKind
    url: str = Field(description="base URL, e.g. https://cloud.example.org")
    user: str = ""
    secret: Secret | None = None
    verify_tls: StrictBool = Field(default=True, description="turn off only for a test server")
    audience: Audience = Field(description="who can see what lands on this target")
    uid_domain: str = Field(default="cohort-connector", description="caldav: UID suffix")

    @model_validator(mode="after")
    def _url_scheme(self) -> TargetSpec:
        if self.kind != "memory" and not re.match(r"^https?://[^/\s]+", self.url):
            message = _("must start with http:// or https://, got {url}")
            raise ValueError("url: " + message.format(url=repr(self.url)))
        return self


class AclShare(Strict):
    """A Deck board share: a Nextcloud user or group with its permissions."""

    user: str | None = None
    group: str | None = None
    edit: StrictBool = True
    share: StrictBool = False
    manage: StrictBool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> AclShare:
        if (self.user is None) == (self.group is None):
            raise ValueError(_("give exactly one of `user` or `group`"))
        return self


class DeckCollection(Strict):
    """A Deck board with its stacks, labels and shares."""

    board: str = Field(max_length=100)
    stacks: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        min_length=1
    )
    labels: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = []
    organisation_labels: StrictBool = Field(
        default=False, description="one label per member organisation (its short name)"
    )
    acl: list[AclShare] = []

    @model_validator(mode="after")
    def _unique(self) -> DeckCollection:
        for what, items in (("stack", self.stacks), ("label", self.labels)):
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item in seen:
                    message = (
                        _("duplicate stack {name}")
                        if what == "stack"
                        else _("duplicate label {name}")
                    ).format(name=repr(item))
                    raise ValueError(f"{what}s[{index}]: {message}")
                seen.add(item)
        return self


class CalendarCollection(Strict):
    """A CalDAV calendar."""

    calendar: CalendarId
    display_name: str
    description: str = ""
    color: str | None = None


class ListCollection(Strict):
    """A Mailman 3 mailing list."""

    address: ListAddress
    display_name: str
    description: str = ""
    subject_prefix: str = ""
    policies: dict[str, str | bool | int] = {}


class FieldSpec(Strict):
    """One canonical value ↔ one remote field."""

    remote: str = Field(description="remote field name (see the adapter's fields)")
    canonical: Path | None = Field(default=None, description="dotted path in the entity")
    template: str | None = Field(default=None, description="out-only text with {paths}")
    direction: Direction = "both"
    policy: Policy = "ask"
    values: dict[str, str] | None = Field(
        default=None, description="canonical value -> remote value"
    )
    lookup: Path | None = Field(
        default=None,
        description="the canonical value is a uid; the remote shows this attribute of it",
    )

    @model_validator(mode="after")
    def _source(self) -> FieldSpec:
        if (self.canonical is None) == (self.template is None):
            raise ValueError(_("give exactly one of `canonical` or `template`"))
        if self.template is not None and self.direction != "out":
            message = _('a `template` field can only go out; set direction = "out"')
            raise ValueError("direction: " + message)
        if self.values is not None and self.lookup is not None:
            raise ValueError("lookup: " + _("give at most one of `values` or `lookup`"))
        if self.values is not None and len(set(self.values.values())) != len(self.values):
            message = _("each canonical value must map to a different remote value")
            raise ValueError("values: " + message)
        return self


class Rule(Strict):
    """An entity kind (filtered) bound to one collection on one target."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Name
    entity: EntityKind
    target: str
    audience: Audience | None = Field(
        default=None, description="who sees this collection; defaults to the target's"
    )
    filter: dict[Path, FilterValue] = {}
    deck: DeckCollection | None = None
    calendar: CalendarCollection | None = None
    mailing_list: ListCollection | None = Field(default=None, alias="list")
    fields: list[FieldSpec] = Field(min_length=1)
    key: str | None = Field(
        default=None, description="remote field to adopt unmarked records by (e.g. email)"
    )
    create_from_remote: StrictBool = False
    create_when: dict[str, str] = Field(
        default={}, description="remote field values a new record must have to be adopted"
    )
    defaults: dict[str, Any] = Field(
        default={}, description="canonical values for entities created from remote records"
    )
    on_remote_delete: DeletePolicy = "restore"

    @model_validator(mode="after")
    def _one_collection(self) -> Rule:
        given = [
            key
            for key, attr in (("deck", "deck"), ("calendar", "calendar"), ("list", "mailing_list"))
            if getattr(self, attr) is not None
        ]
        if len(given) != 1:
            # Point at the second table when there are two: that is the one to remove.
            where = f"{given[1]}: " if len(given) > 1 else ""
            message = _(
                "give exactly one collection table: [rules.deck], [rules.calendar] "
                "or [rules.list] (got {given})"
            ).format(given=", ".join(given) or _("none"))
            raise ValueError(where + message)
        seen: set[str] = set()
        for index, spec in enumerate(self.fields):
            if spec.remote in seen and spec.remote not in SET_FIELDS:
                message = _("remote field {name} is mapped twice").format(name=repr(spec.remote))
                raise ValueError(f"fields[{index}].remote: {message}")
            seen.add(spec.remote)
        return self

    @property
    def collection_kind(self) -> TargetKind:
        """The platform kind this rule's collection table belongs to."""
        if self.deck is not None:
            return "deck"
        if self.calendar is not None:
            return "caldav"
        return "mailman"


class MappingFile(Strict):
    """A whole mapping file."""

    name: str = Field(description="human name of this mapping")
    programme: str = Field(description="programme uid, e.g. mim")
    cohort: str | None = Field(default=None, description="default cohort filter for every rule")
    language: Literal["de", "en"] = "de"
    council_group: str | None = Field(
        default=None, description="Nextcloud group of the council (the app's page)"
    )
    targets: dict[Name, TargetSpec]
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> MappingFile:
        if info.context == LOADER_CHECKS_REFERENCES:
            return self
        names: set[str] = set()
        homes: dict[tuple[str, str], str] = {}
        for index, rule in enumerate(self.rules):
            if rule.name in names:
                raise ValueError(f"rules[{index}].name: duplicate rule name {rule.name!r}")
            home = (rule.target, collection_name(rule))
            if home in homes:
                raise ValueError(
                    f"rules[{index}]: {home[1]!r} on target {rule.target!r} already belongs to "
                    f"rule {homes[home]!r}; each board, calendar or list belongs to one rule"
                )
            homes[home] = rule.name
            names.add(rule.name)
            target = self.targets.get(rule.target)
            if target is None:
                raise ValueError(
                    f"rules[{index}].target: unknown target {rule.target!r}; "
                    f"known: {', '.join(sorted(self.targets))}"
                )
            if target.kind != "memory" and target.kind != rule.collection_kind:
                raise ValueError(
                    f"rules[{index}]: target {rule.target!r} is {target.kind}, but the rule "
                    f"describes a {rule.collection_kind} collection"
                )
        return self

    def audience_of(self, rule: Rule) -> Audience:
        """The audience that sees ``rule``'s collection."""
        return rule.audience or self.targets[rule.target].audience


def options_of(rule: Rule) -> dict[str, Any]:
    """The collection table of ``rule`` as plain data (for the adapter)."""
    table = rule.deck or rule.calendar or rule.mailing_list
    assert table is not None
    return table.model_dump(exclude_none=True)


def collection_name(rule: Rule) -> str:
    """The identifying name of ``rule``'s collection (board, calendar id, list address)."""
    if rule.deck is not None:
        return rule.deck.board
    if rule.calendar is not None:
        return rule.calendar.calendar
    assert rule.mailing_list is not None
    return rule.mailing_list.address
