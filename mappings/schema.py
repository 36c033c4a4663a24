"""The mapping language: pydantic models of a TOML mapping file.

A mapping file declares **targets** (a platform instance: kind, URL, user, where the secret
comes from, who can see it) and **rules** (an entity kind with a filter, bound to one
collection on one target, with its fields). See ``docs/mappings.md`` for every key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic.fields import FieldInfo

from connector import registry
from connector.platform import Platform, matching
from sync.i18n import N_, _
from sync.model import Audience

#: A platform kind (``deck``, ``caldav``, ...): one of the declared platforms, see
#: :mod:`connector.registry`; validated as a literal of the declared kinds.
TargetKind = str
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


#: A validator with a readable message instead of pydantic's raw regex (also for Fahrplan files).
_matching = matching

Name = Annotated[
    str,
    matching(
        r"^[a-z0-9][a-z0-9_-]{0,63}$",
        N_("a valid name: lower-case letters, digits, '_' or '-', at most 64 (e.g. nextcloud)"),
    ),
]
Path = Annotated[
    str,
    matching(
        r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$",
        N_("a dotted path of lower-case field names (e.g. applicant.organisation)"),
    ),
]
EnvName = Annotated[
    str, matching(r"^[A-Za-z_][A-Za-z0-9_]*$", N_("an environment variable name (e.g. DECK_PW)"))
]


class Strict(BaseModel):
    """Base for mapping models: unknown keys are errors."""

    # defer_build: validators are built for the tables a mapping uses, when it is read.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
        schemes = registry.platform(self.kind).schemes
        pattern = "^(" + "|".join(map(re.escape, schemes)) + r")://[^/\s]+"
        if schemes and not re.match(pattern, self.url):
            starts = ", ".join(f"{scheme}://" for scheme in schemes)
            if tuple(schemes) == ("http", "https"):
                message = _("must start with http:// or https://, got {url}")
            else:
                message = _("must start with one of {starts}, got {url}")
            message = message.format(starts=starts, url=repr(self.url))
            raise ValueError(_("{key}: {message}").format(key="url", message=message))
        return self


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
            raise ValueError(_("{key}: {message}").format(key="direction", message=message))
        if self.values is not None and self.lookup is not None:
            message = _("give at most one of `values` or `lookup`")
            raise ValueError(_("{key}: {message}").format(key="lookup", message=message))
        if self.values is not None and len(set(self.values.values())) != len(self.values):
            message = _("each canonical value must map to a different remote value")
            raise ValueError(_("{key}: {message}").format(key="values", message=message))
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
    # Here come the collection tables, one optional key per declared platform
    # (``deck``, ``calendar``, ``list``, ...): see :func:`_declare_platforms`.
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
        tables = [p for p in registry.platforms().values() if p.table is not None]
        given = [p.table for p in tables if getattr(self, p.rule_attribute, None) is not None]
        if len(given) != 1:
            # Point at the second table when there are two: that is the one to remove.
            where = f"{given[1]}: " if len(given) > 1 else ""
            names = [f"[rules.{p.table}]" for p in tables]
            listed = ", ".join(names)
            message = _("give exactly one collection table: {tables} (got {given})").format(
                tables=listed, given=", ".join(str(g) for g in given) or _("none")
            )
            raise ValueError(where + message)
        seen: set[str] = set()
        for index, spec in enumerate(self.fields):
            if spec.remote in seen and spec.remote not in SET_FIELDS:
                message = _("remote field {name} is mapped twice").format(name=repr(spec.remote))
                raise ValueError(
                    _("{key}: {message}").format(key=f"fields[{index}].remote", message=message)
                )
            seen.add(spec.remote)
        return self

    @property
    def platform(self) -> Platform:
        """The declared platform whose collection table this rule has."""
        for platform in registry.platforms().values():
            if platform.table is not None and self.table_of(platform) is not None:
                return platform
        raise LookupError(_("rule {name!r} has no collection table").format(name=self.name))

    def table_of(self, platform: Platform) -> BaseModel | None:
        """This rule's ``[rules.TABLE]`` of ``platform``, if it has that one."""
        table: BaseModel | None = getattr(self, platform.rule_attribute, None)
        return table

    @property
    def table(self) -> BaseModel:
        """This rule's collection table (validated by its platform's options model)."""
        table = self.table_of(self.platform)
        assert table is not None
        return table

    @property
    def collection_kind(self) -> TargetKind:
        """The platform kind this rule's collection table belongs to."""
        return self.platform.kind

    if TYPE_CHECKING:  # the collection tables are declared by the platforms at run time

        def __getattr__(self, name: str) -> Any: ...


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
                raise ValueError(
                    _("rules[{index}].name: duplicate rule name {name!r}").format(
                        index=index, name=rule.name
                    )
                )
            home = (rule.target, collection_name(rule))
            if home in homes:
                raise ValueError(
                    _(
                        "rules[{index}]: {collection!r} on target {target!r} already belongs to "
                        "rule {rule!r}; each board, calendar or list belongs to one rule"
                    ).format(index=index, collection=home[1], target=rule.target, rule=homes[home])
                )
            homes[home] = rule.name
            names.add(rule.name)
            target = self.targets.get(rule.target)
            if target is None:
                raise ValueError(
                    _("rules[{index}].target: unknown target {target!r}; known: {known}").format(
                        index=index, target=rule.target, known=", ".join(sorted(self.targets))
                    )
                )
            serves_any = registry.platform(target.kind).serves_any_table
            if not serves_any and target.kind != rule.collection_kind:
                raise ValueError(
                    _(
                        "rules[{index}]: target {target!r} is {kind}, but the rule "
                        "describes a {collection} collection"
                    ).format(
                        index=index,
                        target=rule.target,
                        kind=target.kind,
                        collection=rule.collection_kind,
                    )
                )
        return self

    def audience_of(self, rule: Rule) -> Audience:
        """The audience that sees ``rule``'s collection."""
        return rule.audience or self.targets[rule.target].audience


def options_of(rule: Rule) -> dict[str, Any]:
    """The collection table of ``rule`` as plain data (for the adapter)."""
    return rule.table.model_dump(exclude_none=True)


def collection_name(rule: Rule) -> str:
    """The identifying name of ``rule``'s collection (board, calendar id, list address)."""
    return rule.platform.collection_name(rule.table)


_tables: set[str] = set()


def _declare_platforms() -> None:
    """Give ``TargetSpec.kind`` the declared kinds and ``Rule`` one key per collection table.

    Called now and whenever a platform is registered, so a plugin's table is part of the
    mapping language (unknown keys, messages and lines work for it as for the built-in ones).
    """
    declared = registry.platforms().values()
    kinds = tuple(platform.kind for platform in declared)
    kind = TargetSpec.model_fields["kind"]
    kind.annotation = cast(Any, Literal[kinds])
    fields: dict[str, FieldInfo] = {}
    tables: set[str] = set()
    for name, info in Rule.model_fields.items():
        if name == "fields":
            for platform in declared:
                if platform.table is None or platform.options is None:
                    continue
                tables.add(platform.rule_attribute)
                fields[platform.rule_attribute] = FieldInfo.from_annotated_attribute(
                    platform.options | None,  # type: ignore[arg-type]
                    Field(default=None, alias=platform.table),
                )
        if name not in _tables:
            fields[name] = info
    _tables.clear()
    _tables.update(tables)
    Rule.model_fields.clear()
    Rule.model_fields.update(fields)
    for model in (TargetSpec, Rule, MappingFile):
        model.model_rebuild(force=True)


_declare_platforms()
registry.on_change(_declare_platforms)
