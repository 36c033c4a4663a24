"""What identifies a record in an office's CSV export that carries no uids: its natural key.

Organisations are known by short name, people by e-mail, applications by cohort and applicant,
and so on; :func:`row_key` reads a row's cells the way :func:`natural_key` reads a stored
record, so that importing the same file again finds the same records.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime
from typing import Any

from sync.importing.rows import KEY_FIELDS
from sync.model import BERLIN, Application, Entity, Event, Organisation, Person, Tandem, Task


def natural_key(entity: Entity) -> tuple[Hashable, ...]:
    """What identifies ``entity`` in a file that carries no uids."""
    match entity:
        case Organisation():
            return ("organisation", entity.short_name.casefold())
        case Person():
            return ("person", entity.email.casefold())
        case Application():
            return ("application", entity.cohort, entity.applicant)
        case Tandem():
            return ("tandem", entity.cohort, entity.mentee)
        case Event():
            return ("event", entity.cohort, entity.title.casefold(), entity.start)
        case Task():
            return ("task", entity.cohort, entity.title.casefold())
    return (entity.kind, entity.uid)


def row_key(kind: str, values: dict[str, Any]) -> tuple[Hashable, ...] | None:
    """The natural key of a row's cells, read as :func:`natural_key` reads a record (so a row
    that leaves a required cell empty still finds its stored record); None if a cell is empty."""
    parts: list[Hashable] = [kind]
    for name in KEY_FIELDS[kind]:
        value = values.get(name)
        if name == "start" and isinstance(value, date):
            value = berlin_start(value)
        elif name in {"short_name", "email", "title"} and isinstance(value, str):
            value = value.strip().casefold()
        if not isinstance(value, str | datetime):
            return None
        parts.append(value)
    return tuple(parts)


def berlin_start(value: date) -> datetime:
    """A start cell as a Berlin time (a date alone is midnight in Berlin)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=BERLIN)
    return value if value.tzinfo else value.replace(tzinfo=BERLIN)
