"""Templates for out-only text: ``{applicant.name}``, ``{start:%d.%m.%Y %H:%M}``.

Placeholders are dotted paths into the entity (see :mod:`mappings.paths`) with an optional
format after a colon: a ``strftime`` format for dates, Python's format spec (``>20``, ``.200``,
``03d``) for text and numbers; ``{{`` and ``}}`` stand for braces. Dates are written the German
way unless a format says otherwise. Every placeholder and its format is checked when the
mapping is loaded, so a typo is a load error, not a surprise during a sync; widths and
precisions are bounded by :data:`MAX_WIDTH`, so no template can blow up a pass.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from mappings.formats import MAX_WIDTH, check_format
from mappings.paths import Lookup, check_path, read, target_kind
from sync.i18n import _
from sync.model import BERLIN, COMPUTED, Entity, entity_type

__all__ = ["MAX_WIDTH", "check_template", "placeholders", "render_template"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}:]*)(?::([^{}]*))?\}|[{}]")


def placeholders(template: str) -> list[tuple[str, str | None]]:
    """(path, format) of each placeholder; raises ValueError on a stray brace."""
    found = []
    for match in _PLACEHOLDER.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise ValueError(
                _("stray {token!r} at character {position}; write {double} for a brace").format(
                    token=token, position=match.start() + 1, double=token * 2
                )
            )
        found.append((match.group(1).strip(), match.group(2)))
    return found


def check_template(kind: str, template: str) -> list[str]:
    """Problems with ``template`` for entities of ``kind`` (empty when it is fine)."""
    try:
        found = placeholders(template)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    for path, fmt in found:
        problem = check_path(kind, path) if path else "empty placeholder {}"
        if problem:
            problems.append(f"{{{path}}}: {problem}")
        elif fmt is not None and (problem := check_format(_annotation(kind, path), fmt)):
            shown = fmt if len(fmt) <= 40 else fmt[:37] + "..."
            problems.append(f"{{{path}:{shown}}}: {problem}")
    return problems


def _annotation(kind: str, path: str) -> Any:
    """The model annotation of the value at ``path`` (a checked path)."""
    holder, attribute = target_kind(kind, path)
    if attribute in COMPUTED.get(holder, ()):
        return list[str] if attribute == "attendee_emails" else str
    return entity_type(holder).model_fields[attribute].annotation


def _format(value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime(fmt or "%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime(fmt or "%d.%m.%Y")
    if isinstance(value, Enum):
        return format(str(value.value), fmt or "")
    if isinstance(value, set | list | tuple | frozenset):
        return ", ".join(sorted(_format(item, None) for item in value))
    if fmt and isinstance(value, str | int | Decimal | float) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


def render_template(template: str, entity: Entity, lookup: Lookup, *, tandems: bool) -> str:
    """The text of ``template`` for ``entity``; empty strings where a value is missing."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return _format(
            read(entity, match.group(1).strip(), lookup, tandems=tandems), match.group(2)
        )

    return _PLACEHOLDER.sub(replace, template).strip()
