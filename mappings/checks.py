"""What pydantic cannot see in a mapping file: each rule checked against the model and targets.

Paths and templates are resolved against :mod:`sync.model`, remote field names against the
adapter's ``FIELDS``, value maps against the canonical field's type, stacks against the
board. Every finding is ``(location, message)`` with a pydantic-style location tuple, so the
loader can name its line. Rules and targets are checked one by one, so a broken rule does
not hide the problems of the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from connector import registry
from connector.platform import OffersValues
from mappings.derived import COUNCIL_ONLY
from mappings.field_checks import FieldCheck, Found
from mappings.paths import check_path, target_kind
from mappings.schema import EntityKind, FieldSpec, Rule, TargetSpec, collection_name
from mappings.templates import placeholders
from sync.i18n import _
from sync.model import Audience, entity_type

M = TypeVar("M", bound=BaseModel)


def problems(data: Mapping[str, Any]) -> Found:
    """Problems of every rule in ``data`` (the parsed TOML).

    A rule that validates gets every check; one that does not still gets its valid fields
    checked, so one mistake does not hide the next.
    """
    raw_targets = data.get("targets")
    raw_targets = raw_targets if isinstance(raw_targets, dict) else {}
    targets = {name: _valid(TargetSpec, raw) for name, raw in raw_targets.items()}
    raw_rules = data.get("rules")
    found: Found = []
    first_index: dict[str, int] = {}
    owners: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        rule = _valid(Rule, raw)
        if rule is None:
            relative = _fields_of_broken_rule(raw)
        else:
            if rule.name in first_index:
                first = first_index[rule.name]
                message = _("duplicate rule name {name} (first used by {first})").format(
                    name=repr(rule.name), first=f"rules[{first}]"
                )
                found.append((("rules", index, "name"), message))
            first_index.setdefault(rule.name, index)
            found += _shared_collection(rule, index, owners)
            found += _shared_sets(rule, index)
            relative = RuleCheck(rule, targets).run()
        found += [(("rules", index, *loc), message) for loc, message in relative]
    return found


def _shared_collection(rule: Rule, index: int, owners: dict[tuple[str, str], int]) -> Found:
    """A board, calendar or list belongs to one rule: two rules in one collection would each
    take the other's records for strays (use stacks or categories to show states instead)."""
    key = (rule.target, collection_name(rule))
    if key not in owners:
        owners[key] = index
        return []
    return [
        (
            ("rules", index, str(rule.platform.table)),
            _(
                "{collection} on target {target} already belongs to {owner}; "
                "each board, calendar or list belongs to one rule"
            ).format(
                collection=repr(key[1]), target=repr(rule.target), owner=f"rules[{owners[key]}]"
            ),
        )
    ]


def _shared_sets(rule: Rule, index: int) -> Found:
    """Fields sharing a set (Deck labels) must each say which elements are theirs, with
    ``values`` or ``lookup``; one that claimed the whole set would erase the others'."""
    remotes = [f.remote for f in rule.fields]
    found: Found = []
    for position, spec in enumerate(rule.fields):
        shared = remotes.count(spec.remote) > 1
        if shared and spec.values is None and spec.lookup is None:
            found.append(
                (
                    ("rules", index, "fields", position, "remote"),
                    _(
                        "{remote} is shared by {n} fields; each must name the elements it "
                        "owns with `values` or `lookup`"
                    ).format(remote=repr(spec.remote), n=remotes.count(spec.remote)),
                )
            )
    return found


def _valid(model: type[M], raw: Any) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


def _fields_of_broken_rule(raw: Any) -> Found:
    if not isinstance(raw, dict) or raw.get("entity") not in get_args(EntityKind):
        return []
    kinds = [p.kind for p in registry.platforms().values() if p.table and p.table in raw]
    check = FieldCheck(raw["entity"], kinds[0] if len(kinds) == 1 else None)
    fields = raw.get("fields")
    for index, item in enumerate(fields if isinstance(fields, list) else []):
        if (spec := _valid(FieldSpec, item)) is not None:
            check.field(("fields", index), spec)
    return check.found


class RuleCheck(FieldCheck):
    """All semantic checks of one valid rule (locations relative to the rule)."""

    def __init__(self, rule: Rule, targets: Mapping[str, Any]) -> None:
        super().__init__(rule.entity, rule.collection_kind)
        self.rule = rule
        self.kind = rule.collection_kind
        self.targets = targets

    def run(self) -> Found:
        """All problems of the rule."""
        self.target()
        self.filters()
        for index, spec in enumerate(self.rule.fields):
            self.field(("fields", index), spec)
        self.board()
        self.adoption()
        self.creation()
        self.council_only()
        return self.found

    def target(self) -> None:
        """The target exists and serves the kind of collection the rule describes."""
        name = self.rule.target
        if name not in self.targets:
            known = ", ".join(sorted(self.targets)) or _("none")
            message = _("unknown target {name}; known targets: {known}")
            self.add(("target",), message.format(name=repr(name), known=known))
            return
        spec = self.targets[name]
        if not isinstance(spec, TargetSpec) or spec.kind == self.kind:
            return
        served = registry.platform(spec.kind)
        if not served.serves_any_table:
            table = self.rule.platform.table
            self.add(
                (str(table),),
                _(
                    "target {name} is a {kind} target, but this rule has a {table} table; "
                    "use {other} or a {wanted} target"
                ).format(
                    name=repr(name),
                    kind=spec.kind,
                    table=f"[rules.{table}]",
                    other=f"[rules.{served.table}]",
                    wanted=self.kind,
                ),
            )

    def filters(self) -> None:
        """Filter keys are paths of the entity (or ``cohort``), values fit their field."""
        for path, wanted in self.rule.filter.items():
            if path == "cohort":
                if not isinstance(wanted, str | list):
                    self.add(("filter", path), _("expected a cohort uid or a list of them"))
                continue
            problem = check_path(self.entity, path)
            if problem:
                self.add(("filter", path), problem)
            else:
                self.value_fits(("filter", path), path, wanted)

    def board(self) -> None:
        """Values of fields the collection offers a fixed choice for (a Deck board's stacks
        and labels) are among the offered ones."""
        table = self.rule.table
        if not isinstance(table, OffersValues):
            return
        offered, noun = table.offered(), self.rule.platform.noun
        missing = _("{what} {value} is not on the {noun}; {what}s: {names}")
        for index, spec in enumerate(self.rule.fields):
            on_board = offered.get(spec.remote)
            if on_board is None:
                continue
            what = spec.remote.rstrip("s")
            if not self._is_set(spec.remote) and spec.values is None and spec.canonical is not None:
                message = _(
                    "map each canonical value to one of the {noun}'s {what}s with `values`"
                ).format(noun=_(noun), what=what)
                self.add(("fields", index), message)
            for key, value in (spec.values or {}).items():
                if value not in on_board:
                    message = missing.format(
                        what=what, value=repr(value), noun=_(noun), names=", ".join(on_board)
                    )
                    self.add(("fields", index, "values", key), message)
        for remote, value in self.rule.create_when.items():
            on_board = offered.get(remote)
            if on_board is None or self._is_set(remote):
                continue
            what = remote.rstrip("s")
            if value not in on_board:
                message = missing.format(
                    what=what, value=repr(value), noun=_(noun), names=", ".join(on_board)
                )
                self.add(("create_when", remote), message)

    def _is_set(self, remote: str) -> bool:
        field = self.remote.get(remote) if self.remote is not None else None
        return field is not None and field.type == "set"

    def adoption(self) -> None:
        """``key`` names a mapped field; list rules hold people and name their key."""
        mapped = [spec.remote for spec in self.rule.fields]
        if self.rule.key is not None and self.rule.key not in mapped:
            message = _("key {key} is not a remote field of this rule; mapped: {mapped}")
            self.add(("key",), message.format(key=repr(self.rule.key), mapped=", ".join(mapped)))
        holds = self.rule.platform.holds
        if holds is not None:
            if self.entity != holds.entity:
                message = _('{what}: set entity = "{entity}"')
                self.add(("entity",), message.format(what=_(holds.what), entity=holds.entity))
            elif self.rule.key is None:
                message = _('{why}; set key = "{key}"')
                self.add(("key",), message.format(why=_(holds.why), key=holds.key))
        if self.rule.on_remote_delete == "opt_out" and self.entity != "person":
            message = _(
                'opt_out is for people leaving a list (entity = "person"); use '
                "tombstone, restore or unlink"
            )
            self.add(("on_remote_delete",), message)

    def council_only(self) -> None:
        """Council-only values (matching ideas) appear only on rules the council alone sees."""
        spec = self.targets.get(self.rule.target)
        audience = self.rule.audience or (spec.audience if isinstance(spec, TargetSpec) else None)
        if audience is None or audience == Audience.COUNCIL:
            return
        for index, field in enumerate(self.rule.fields):
            used = [("canonical", field.canonical)] if field.canonical else []
            if field.template is not None:
                with suppress(ValueError):
                    used += [("template", p) for p, _ in placeholders(field.template) if p]
            for key, path in used:
                if check_path(self.entity, path) is None and target_kind(self.entity, path) in (
                    COUNCIL_ONLY
                ):
                    where = f"{{{path}}}: " if key == "template" else ""
                    self.add(
                        ("fields", index, key),
                        where
                        + _(
                            "{path} is for the council only (matching ideas); this rule's "
                            'audience is {audience}. Use it on a rule with audience = "council"'
                        ).format(path=path, audience=audience),
                    )

    def creation(self) -> None:
        """``create_from_remote`` gives every required field a value; its helpers need it."""
        rule = self.rule
        if not rule.create_from_remote:
            for key in ("create_when", "defaults"):
                if getattr(rule, key):
                    self.add((key,), _("has no effect without create_from_remote = true"))
            return
        incoming = {s.remote for s in rule.fields if s.direction != "out"}
        for key in rule.create_when:
            if key not in incoming:
                message = _(
                    "{key} is not a remote field this rule reads (direction in/both)"
                ).format(key=repr(key))
                self.add(("create_when", key), message)
        model = entity_type(self.entity).model_fields
        for key, value in rule.defaults.items():
            if key not in model or key in ("uid", "updated_at"):
                valid = ", ".join(sorted(set(model) - {"uid", "updated_at"}))
                message = _("{where} has no field {field}; valid: {valid}").format(
                    where=self.entity, field=repr(key), valid=valid
                )
                self.add(("defaults", key), message)
            else:
                self.value_fits(("defaults", key), key, value)
        given = {s.canonical for s in rule.fields if s.direction != "out"} | set(rule.defaults)
        needed = [n for n, f in model.items() if f.is_required() and n != "uid" and n not in given]
        if needed:
            self.add(
                ("create_from_remote",),
                _(
                    "a {kind} created from a remote record needs {fields}; "
                    'map it with direction = "in" or "both", or set it in {defaults}'
                ).format(kind=self.entity, fields=", ".join(needed), defaults="[rules.defaults]"),
            )
