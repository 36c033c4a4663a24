"""Checks of single mapping fields against the entity and the platform: the remote name,
the canonical path, its lookup, value map and template (locations relative to the rule)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from connector import registry
from connector.base import RemoteField
from mappings.paths import check_path, referenced_kind, target_kind
from mappings.schema import FieldSpec
from mappings.templates import check_template
from sync.i18n import _
from sync.model import COMPUTED, Role, entity_type

Loc = tuple[str | int, ...]
Found = list[tuple[Loc, str]]


@cache
def remote_fields(kind: str) -> Mapping[str, RemoteField]:
    """The remote fields the adapter for targets of ``kind`` offers."""
    return registry.fields_of(kind)


registry.on_change(remote_fields.cache_clear)


def choices(kind: str, path: str) -> list[str] | None:
    """The values the canonical field at ``path`` can take as text, None if it is free."""
    owner, attribute = target_kind(kind, path)
    if (owner, attribute) == ("person", "roles"):  # computed from memberships
        return [str(member.value) for member in Role]
    info = entity_type(owner).model_fields.get(attribute)
    if info is None:
        return None
    annotation: Any = info.annotation
    while get_origin(annotation) in (Union, set, list, frozenset) or _is_optional(annotation):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return [str(arg) for arg in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return ["true", "false"] if annotation is bool else None


def _is_optional(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


class FieldCheck:
    """Checks of single fields against the entity and the platform (locations relative to
    the rule)."""

    def __init__(self, entity: str, kind: str | None) -> None:
        self.entity = entity
        self.remote = remote_fields(kind) if kind else None
        self.kind = kind or _("the platform")
        self.found: Found = []

    def add(self, loc: Loc, message: str) -> None:
        """Record a problem at ``loc`` (relative to the rule)."""
        self.found.append((loc, message))

    def value_fits(self, loc: Loc, path: str, value: Any, *, key: bool = False) -> None:
        """``value`` (or each of a list) is one the field at ``path`` can take.

        A ``values`` table's keys are always text, so there booleans read "true"/"false".
        """
        allowed = choices(self.entity, path)
        if allowed is None:
            return
        typed_bool = allowed == ["true", "false"] and not key
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool) if typed_bool else str(item) in allowed:
                continue
            expected = (
                _("true or false (no quotes)") if typed_bool else ", ".join(map(repr, allowed))
            )
            message = _("{value} is not a value of {path}; expected {expected}")
            self.add(loc, message.format(value=repr(item), path=path, expected=expected))

    def field(self, loc: Loc, spec: FieldSpec) -> None:
        """Remote name, canonical path, lookup, value map and template of one field."""
        remote = self.remote.get(spec.remote) if self.remote is not None else None
        if self.remote is not None and remote is None:
            valid = ", ".join(sorted(self.remote))
            message = _("{where} has no field {field}; valid: {valid}").format(
                where=self.kind, field=repr(spec.remote), valid=valid
            )
            self.add((*loc, "remote"), message)
        elif remote is not None and not remote.writable and spec.direction != "in":
            message = _('{remote} is read-only on {platform}; set direction = "in"').format(
                remote=spec.remote, platform=self.kind
            )
            self.add((*loc, "direction"), message)
        if spec.template is not None:
            for problem in check_template(self.entity, spec.template):
                self.add((*loc, "template"), problem)
        if spec.canonical is not None:
            self.canonical(loc, spec, spec.canonical)

    def canonical(self, loc: Loc, spec: FieldSpec, path: str) -> None:
        """The canonical path resolves; its lookup and value map fit it."""
        problem = check_path(self.entity, path)
        if problem:
            self.add((*loc, "canonical"), problem)
            return
        owner, attribute = target_kind(self.entity, path)
        if spec.direction != "out" and attribute in COMPUTED.get(owner, ()):
            message = _('{path} is computed and cannot be written; set direction = "out"')
            message = message.format(path=path)
            self.add((*loc, "direction"), message)
        if spec.lookup is not None:
            self.lookup((*loc, "lookup"), path, spec.lookup)
        for key in spec.values or {}:
            self.value_fits((*loc, "values", key), path, key, key=True)

    def lookup(self, loc: Loc, path: str, attribute: str) -> None:
        """``attribute`` exists on the entity that ``path`` refers to."""
        ref = referenced_kind(self.entity, path)
        if ref is None:
            message = _("{path} is a value, not a reference; `lookup` needs a reference")
            self.add(loc, message.format(path=path))
        elif "." in attribute:
            message = _("give one attribute of {kind}, not a path ({attribute})")
            self.add(loc, message.format(kind=ref, attribute=repr(attribute)))
        elif problem := check_path(ref, attribute):
            self.add(loc, problem)
