"""Field codecs: one canonical value ↔ one normalised remote value, as a rule's field says.

The engine merges in *remote space*: every value is normalised (see :func:`normalise`) so
that equal meanings compare equal. Set-valued remote fields (Deck labels, attendees) can be
shared by several fields; each codec then *owns* only the elements of its own domain (the
organisation labels, say) and leaves the others alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from connector.base import FieldType, cut
from mappings.paths import Lookup, holder, read, referenced_kind, target_kind
from mappings.schema import FieldSpec
from mappings.templates import render_template
from sync.i18n import _, kind_label
from sync.model import BERLIN, Entity, entity_type


class Unmappable(ValueError):
    """A remote value has no canonical counterpart (unknown stack, unknown label, ...)."""


def _to_utc_text(value: datetime | date | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=BERLIN)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=BERLIN)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise(value: Any, kind: FieldType) -> Any:
    """The comparable form of a remote value of type ``kind``."""
    if isinstance(value, Enum):
        value = value.value
    if kind == "set":
        items = value if isinstance(value, list | set | tuple | frozenset) else [value]
        return sorted({_plain(item) for item in items if item not in (None, "")})
    if value is None:
        return "" if kind in ("text", "email") else None
    if kind == "text":
        return str(value)
    if kind == "email":
        return str(value).strip().lower()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "date":
        return value.isoformat()[:10] if isinstance(value, date) else str(value)[:10]
    return _to_utc_text(value)


def _plain(value: Any) -> str:
    """The text form used in value maps: enum values, and booleans as 'true'/'false'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value) if isinstance(value, Enum) else str(value)


def _is_set(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    return origin in (set, list, frozenset) or annotation in (set, list)


@dataclass(frozen=True)
class Codec:
    """Converts one field of one rule between canonical and remote space."""

    spec: FieldSpec
    kind: str
    remote_type: FieldType
    #: The platform's length limit for text (see :class:`connector.base.RemoteField`).
    max_length: int | None = None

    @property
    def canonical_is_set(self) -> bool:
        """Whether the canonical value is itself a collection."""
        if self.spec.canonical is None:
            return False
        owner, attribute = target_kind(self.kind, self.spec.canonical)
        info = entity_type(owner).model_fields.get(attribute)
        return info is not None and _is_set(info.annotation)

    def domain(self, lookup: Lookup) -> set[str] | None:
        """Remote set elements this codec owns, or None when it owns the whole set."""
        if self.remote_type != "set" or (self.canonical_is_set and not self.spec.values):
            return None
        if self.spec.values is not None:
            return set(self.spec.values.values())
        if self.spec.lookup is not None and self.spec.canonical is not None:
            ref = referenced_kind(self.kind, self.spec.canonical)
            if ref is not None:
                return {str(getattr(e, self.spec.lookup)) for e in lookup.all(ref)}
        return None

    def render(self, entity: Entity, lookup: Lookup, *, tandems: bool) -> Any:
        """The remote value the canonical side asks for (normalised)."""
        if self.spec.template is not None:
            text = render_template(self.spec.template, entity, lookup, tandems=tandems)
            return self._fit(normalise(text, self.remote_type))
        assert self.spec.canonical is not None
        value = read(entity, self.spec.canonical, lookup, tandems=tandems)
        if isinstance(value, set | list | frozenset | tuple):
            converted = [self._out(item, lookup) for item in value]
            return normalise([v for v in converted if v is not None], self.remote_type)
        return self._fit(normalise(self._out(value, lookup), self.remote_type))

    def _fit(self, value: Any) -> Any:
        return cut(value, self.max_length) if isinstance(value, str) else value

    def _out(self, value: Any, lookup: Lookup) -> Any:
        if value is None:
            return None
        if self.spec.values is not None:
            return self.spec.values.get(_plain(value))
        if self.spec.lookup is not None:
            target = lookup.get(str(value))
            return getattr(target, self.spec.lookup) if target is not None else None
        return value

    def view(self, remote_value: Any, lookup: Lookup) -> Any:
        """The part of a remote value this codec compares (normalised, own domain only)."""
        value = normalise(remote_value, self.remote_type)
        domain = self.domain(lookup)
        if domain is not None:
            value = [item for item in value if item in domain]
        return value

    def merge_into(self, full_remote: Any, owned: Any, lookup: Lookup) -> Any:
        """The whole remote value with this codec's part replaced by ``owned``."""
        domain = self.domain(lookup)
        if self.remote_type != "set" or domain is None:
            return owned
        others = [v for v in normalise(full_remote, "set") if v not in domain]
        return sorted({*others, *owned})

    def parse(self, remote_value: Any, entity: Entity | None, lookup: Lookup) -> Any:
        """The canonical value for a (viewed) remote value; raises :class:`Unmappable`."""
        assert self.spec.canonical is not None
        if self.remote_type == "set" and not self.canonical_is_set:
            if len(remote_value) > 1:
                raise Unmappable(
                    _("{values}: only one may be set").format(values=", ".join(remote_value))
                )
            remote_value = remote_value[0] if remote_value else None
        if isinstance(remote_value, list):
            return [self._in(item, lookup) for item in remote_value]
        return self._in(remote_value, lookup)

    def _in(self, value: Any, lookup: Lookup) -> Any:
        if value is None or (value == "" and (self.spec.values or self.spec.lookup)):
            return None
        if self.spec.values is not None:
            reverse = {remote: canonical for canonical, remote in self.spec.values.items()}
            if value not in reverse:
                raise Unmappable(
                    _("{value!r} is not one of {choices}").format(
                        value=value, choices=", ".join(sorted(reverse))
                    )
                )
            return reverse[value]
        if self.spec.lookup is not None:
            assert self.spec.canonical is not None
            ref = referenced_kind(self.kind, self.spec.canonical)
            assert ref is not None
            for candidate in lookup.all(ref):
                if str(getattr(candidate, self.spec.lookup)) == value:
                    return candidate.uid
            raise Unmappable(
                _("no {kind} with {field} {value!r}").format(
                    kind=kind_label(ref), field=self.spec.lookup, value=value
                )
            )
        return self._typed(value)

    def _typed(self, value: Any) -> Any:
        assert self.spec.canonical is not None
        owner, attribute = target_kind(self.kind, self.spec.canonical)
        info = entity_type(owner).model_fields.get(attribute)
        annotation = str(info.annotation) if info else ""
        is_date = "datetime.date" in annotation and "datetime.datetime" not in annotation
        if is_date and isinstance(value, str) and len(value) > 10:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(BERLIN).date()
        return value

    def write(self, entity: Entity, value: Any, lookup: Lookup) -> Entity | None:
        """The entity holding the path, changed to ``value`` (None if nothing to write)."""
        assert self.spec.canonical is not None
        owner = holder(entity, self.spec.canonical, lookup)
        if owner is None:
            return None
        attribute = self.spec.canonical.rsplit(".", 1)[-1]
        return owner.touched(**{attribute: value})
