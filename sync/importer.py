"""``connector import KIND FILE``: bring an office's CSV export into the store.

The whole file is checked first — every cell, the model, and the cross-entity rules against
the store plus the file's own rows. If anything is wrong, nothing is written and every problem
is reported as ``file:line: column: message``. Otherwise all rows are written in one
transaction. Rows match existing entities by uid or by natural key (organisations by short
name, people by e-mail, applications by cohort and applicant, ...), so importing the same file
again changes nothing. A row changes only what its cells say (see :mod:`sync.importing.rowmerge`: an
empty cell keeps the stored value, ``-`` clears it), and the tandems of every person a file
changes are checked too. New uids are random and carry no personal data, because they end up
in markers on boards.
"""

from __future__ import annotations

import secrets
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connector.errors import InputError
from sync import integrity, suppression
from sync.i18n import N_, _, kind_label, ngettext
from sync.importing import cells, rowmerge
from sync.importing.columns import COLUMNS, Column
from sync.importing.csvread import Row, Table, read_table
from sync.importing.erased import ErasedRows
from sync.importing.natural_keys import natural_key, row_key
from sync.importing.rowmerge import CLEARED
from sync.importing.rows import CellProblem, Resolver, listed, match_columns, row_values
from sync.integrity import Overlay
from sync.model import (
    Entity,
    Person,
    describe_validation_error,
    entity_type,
    utcnow,
)
from sync.store import Store

#: The KIND argument of `connector import` → entity kind.
KINDS: dict[str, str] = {
    "organisations": "organisation",
    "programmes": "programme",
    "people": "person",
    "cohorts": "cohort",
    "applications": "application",
    "tandems": "tandem",
    "events": "event",
    "tasks": "task",
}
_PREFIX = {"organisation": "org", "person": "person", "application": "app"}
#: Per kind: the field a duplicate is reported on, and how the natural key reads.
_KEY = {
    "organisation": ("short_name", N_("short name")),
    "person": ("email", N_("e-mail")),
    "application": ("applicant", N_("cohort and applicant")),
    "tandem": ("mentee", N_("cohort and mentee")),
    "event": ("title", N_("cohort, title and start")),
    "task": ("title", N_("cohort and title")),
}
#: The column a model field that no column fills is reported under.
_CELL_OF = {"memberships": "cohorts"}
#: Where a problem of the whole record (no field) is reported.
_RECORD_FIELD = {"cohort": "period_end", "event": "end", "tandem": "mentor"}


@dataclass
class Outcome:
    """How many entities of one kind an import created, updated or left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do), per entity kind."""

    file: str
    kind: str
    rows: int
    encoding: str
    delimiter: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    written: bool = False
    #: Columns left out with ``--ignore-column``, as written in the file.
    ignored: list[str] = field(default_factory=list)
    #: Rows and cells left out because they name a person erased with ``connector forget``
    #: (``file:line: column: message``).
    notices: list[str] = field(default_factory=list)
    #: Erased addresses imported again with ``--readmit`` (no longer kept as erased).
    readmitted: list[str] = field(default_factory=list)


@dataclass
class _Planned:
    line: int
    entity: Entity
    status: str  # created | updated | unchanged


class _Batch:
    """One file's rows turned into entities, checked against the store and each other."""

    def __init__(
        self, store: Store, table: Table, kind: str, columns: dict[str, Column], erased: ErasedRows
    ):
        self.store, self.table, self.kind, self.columns = store, table, kind, columns
        self.headers = {column.field: header for header, column in columns.items()}
        self.overlay = Overlay(store)
        self.erased = erased
        self.resolver = Resolver(store, erased)
        existing = store.entities(kind)
        self.by_uid = {e.uid: e for e in existing}
        self.by_key = {natural_key(e): e for e in existing}
        self.seen: dict[Hashable, int] = {}
        self.planned: list[_Planned] = []
        self.derived: dict[str, Entity] = {}
        self.problems: list[CellProblem] = []
        self.notices: list[CellProblem] = []

    def problem(self, line: int, field: str, message: str) -> None:
        """Record a problem on ``field`` (reported under the header as written)."""
        field = _CELL_OF.get(field, field) or _RECORD_FIELD.get(self.kind, "")
        absent = next((c.display() for c in COLUMNS[self.kind] if c.field == field), field)
        self.problems.append(CellProblem(line, self.headers.get(field, absent or "(row)"), message))

    def _validate(
        self, line: int, data: dict[str, Any], skip: set[str] | None = None
    ) -> Entity | None:
        """The validated entity, or None after recording its problems (except on ``skip``,
        fields whose cells were already reported)."""
        try:
            return entity_type(self.kind).model_validate(data)
        except ValidationError as exc:
            for loc, message in describe_validation_error(exc):
                field = "" if loc == "(record)" else loc.split(".")[0]
                if field not in (skip or set()):
                    text = _("a value is required") if message == "Field required" else message
                    self.problem(line, field, text)
            return None

    def add(self, row: Row) -> None:
        """Turn ``row`` into a planned entity, or record why it cannot be one."""
        values, found = row_values(row, self.kind, self.columns, self.resolver)
        problems = [p for p in found if not p.notice]
        self.notices += [p for p in found if p.notice]
        if any(p.notice == "row" for p in found):
            return  # a row of an erased person: left out, its other cells do not matter
        self.problems += problems
        broken = {self.columns[p.column].field for p in problems if p.column in self.columns}
        uid = values.get("uid")
        if uid is CLEARED:
            self.problem(row.line, "uid", _("a uid cannot be cleared"))
            return
        key = row_key(self.kind, values)
        if self.kind == "person" and not uid and (key is None or key not in self.by_key):
            notice = self.erased.person_row(row.line, self.headers.get("email", ""), values)
            if notice is not None:
                self.notices.append(notice)
                return
        existing = self._existing(row.line, uid, key)
        entity = self._entity(row.line, existing, values, broken)
        if entity is not None and existing is None and not uid:
            # A key that needs the model to read (an event's start): look again.
            existing = self.by_key.get(natural_key(entity))
            if existing is not None:
                entity = self._entity(row.line, existing, values, broken)
        if problems or entity is None or not self._first(row.line, entity, uid):
            return
        if existing is None:
            entity = entity.model_copy(update={"uid": uid or self._new_uid()})
        self._plan(row.line, entity, existing)

    def _entity(
        self, line: int, existing: Entity | None, values: dict[str, Any], broken: set[str]
    ) -> Entity | None:
        """The record as the row leaves it, or None after recording why it cannot be."""
        data, problems = rowmerge.record_data(self.kind, existing, values)
        for field_name, message in problems:
            self.problem(line, field_name, message)
        if existing is None:
            data = {"uid": "new"} | data
        entity = self._validate(line, data, skip=broken)
        return None if problems else entity

    def _first(self, line: int, candidate: Entity, uid: str | None) -> bool:
        key = natural_key(candidate)
        for seen in (key, ("uid", uid) if uid else None):
            if seen is not None and seen in self.seen:
                field, words = _KEY.get(self.kind, ("uid", "uid"))
                what = "uid" if seen[0] == "uid" else words
                message = _("same {what} as line {line}").format(what=_(what), line=self.seen[seen])
                self.problem(line, field, message)
                return False
        self.seen[key] = line
        if uid:
            self.seen[("uid", uid)] = line
        return True

    def _existing(
        self, line: int, uid: str | None, key: tuple[Hashable, ...] | None
    ) -> Entity | None:
        by_key = self.by_key.get(key) if key is not None else None
        if not uid:
            return by_key
        if by_key is not None and by_key.uid != uid:
            words = _(_KEY.get(self.kind, ("uid", "uid"))[1])
            message = _("the store has this {words} under uid {uid!r}")
            self.problem(line, "uid", message.format(words=words, uid=by_key.uid))
        hit = self.by_uid.get(uid)
        if hit is None and (other := self.store.get(uid, include_deleted=True)) is not None:
            deleted = _("{uid!r} belongs to a deleted record; uids are never reused")
            message = deleted if self.store.is_deleted(uid) else _("{uid!r} belongs to a {kind}")
            self.problem(line, "uid", message.format(uid=uid, kind=kind_label(other.kind)))
        return hit

    def _new_uid(self) -> str:
        prefix = _PREFIX.get(self.kind, self.kind)
        while True:
            uid = f"{prefix}-{secrets.token_hex(5)}"
            if self.overlay.get(uid) is None and not self.store.is_deleted(uid):
                return uid

    def _plan(self, line: int, entity: Entity, existing: Entity | None) -> None:
        if isinstance(entity, Person):
            entity = integrity.keep_selections(entity, self.overlay)
        if existing is None:
            status = "created"
            entity = entity.model_copy(update={"updated_at": utcnow()})
        elif entity.model_dump(exclude={"updated_at"}) == existing.model_dump(
            exclude={"updated_at"}
        ):
            status, entity = "unchanged", existing
        else:
            status = "updated"
            entity = entity.model_copy(update={"updated_at": utcnow()})
        self.planned.append(_Planned(line, entity, status))
        self.overlay.put(entity)

    def settle(self) -> None:
        """Apply the consequences of the planned entities, then check every rule, including
        the tandems of every person the file changes (directly, or by a decision)."""
        caused_by: dict[str, int] = {}
        for planned in self.planned:
            for changed in integrity.consequences(planned.entity, self.overlay):
                self.overlay.put(changed)
                self.derived[changed.uid] = changed
                caused_by[changed.uid] = planned.line
        for planned in self.planned:
            found = integrity.check(planned.entity, self.overlay)
            if isinstance(planned.entity, Person) and planned.status != "unchanged":
                found += integrity.check_partners(planned.entity, self.overlay)
            for field_name, message in found:
                self.problem(planned.line, field_name, message)
        for uid, person in self.derived.items():
            if isinstance(person, Person):
                for _, message in integrity.check_partners(person, self.overlay):
                    self.problem(caused_by[uid], "status", message)

    def report(self, report: ImportReport) -> None:
        """Fill ``report``'s counts."""
        outcome = report.outcomes.setdefault(self.kind, Outcome())
        for planned in self.planned:
            setattr(outcome, planned.status, getattr(outcome, planned.status) + 1)
        for entity in self.derived.values():
            report.outcomes.setdefault(entity.kind, Outcome()).updated += 1

    def changes(self) -> list[Entity]:
        """Entities to write: created and updated rows, then their consequences."""
        rows = [p.entity for p in self.planned if p.status != "unchanged"]
        return rows + list(self.derived.values())


def _normalised(names: Iterable[str]) -> set[str]:
    return {cells.normalise(name) for name in names}


def _missing_first(store: Store, columns: dict[str, Column]) -> dict[str, str]:
    """Reference columns whose kind the store has none of yet: header → that kind."""
    return {
        header: column.ref
        for header, column in columns.items()
        if column.type in ("ref", "refs") and column.ref and not store.entities(column.ref)
    }


def _order_error(table: Table, missing: dict[str, str], others: list[str]) -> InputError:
    plural = {entity: name for name, entity in KINDS.items()}
    first = [plural.get(kind, kind) for kind in dict.fromkeys(missing.values())]
    error = InputError(
        _(
            "{file}: the store has no {kinds} yet, which this file refers to (column "
            "{columns}); nothing was imported"
        ).format(
            file=table.name,
            kinds=" / ".join(first),
            columns=", ".join(repr(h) for h in missing),
        ),
        others,
    )
    error.hint = _(
        "import the {kinds} first: connector import {kind} FILE (the order: {order})"
    ).format(kinds=" / ".join(first), kind=first[0], order=", ".join(KINDS))
    return error


def import_file(
    store: Store,
    kind: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    ignore_columns: Iterable[str] = (),
    readmit: Iterable[str] = (),
) -> ImportReport:
    """Import the CSV file at ``path`` as entities of ``kind`` (a key of :data:`KINDS` or an
    entity kind). Raises :class:`InputError` listing every problem; then nothing is written.

    ``ignore_columns`` are headers of the file to leave out (an office's extra columns).
    Rows of people erased with ``connector forget`` are left out with a notice in the report
    (:mod:`sync.importing.erased`), except the addresses in ``readmit`` (people files only).

    The import reads and writes the store in one transaction, so no other writer (a sync
    pass) writes in between and nothing either of them wrote is lost.
    """
    with store.transaction():
        return _import_file(
            store, kind, path, dry_run=dry_run, ignore_columns=ignore_columns, readmit=readmit
        )


def _import_file(
    store: Store,
    kind: str,
    path: str | Path,
    *,
    dry_run: bool = False,
    ignore_columns: Iterable[str] = (),
    readmit: Iterable[str] = (),
) -> ImportReport:
    entity_kind = KINDS.get(kind, kind)
    if entity_kind not in KINDS.values():
        known = ", ".join(KINDS)
        message = _("unknown import kind {kind!r}; choose one of: {kinds}")
        raise InputError(message.format(kind=kind, kinds=known))
    table = read_table(path)
    if not table.rows:
        raise InputError(
            _("{file}: only a header (line {line}), no rows; nothing was imported").format(
                file=table.name, line=table.header_line
            )
        )
    ignore_columns = list(ignore_columns)
    columns = match_columns(table, entity_kind, ignore_columns)
    erased = ErasedRows(store, entity_kind, readmit)
    batch = _Batch(store, table, entity_kind, columns, erased)
    for row in table.rows:
        batch.add(row)
    batch.settle()
    batch.problems += erased.unused(table.header_line)
    if batch.problems:
        order = {header: i for i, header in enumerate(table.header)}
        problems = sorted(batch.problems, key=lambda p: (p.line, order.get(p.column, len(order))))
        missing = {
            header: ref
            for header, ref in _missing_first(store, columns).items()
            if any(p.column == header for p in problems)
        }
        if missing:
            others = [p.render(table.name) for p in problems if p.column not in missing]
            raise _order_error(table, missing, others)
        count = ngettext("{n} problem", "{n} problems", len(problems)).format(n=len(problems))
        error = InputError(
            _("{file}: {count}; nothing was imported").format(file=table.name, count=count),
            listed([p.render(table.name) for p in problems]),
        )
        error.hint = _("fix these lines, then run the same import again")
        raise error
    report = ImportReport(table.name, entity_kind, len(table.rows), table.encoding, table.delimiter)
    report.ignored = [h for h in table.header if cells.normalise(h) in _normalised(ignore_columns)]
    batch.report(report)
    report.notices = [p.render(table.name) for p in batch.notices]
    report.readmitted = erased.readmitted
    if not dry_run:
        with store.transaction():
            for entity in batch.changes():
                store.put(entity)
            suppression.readmit(store, erased.readmitted)
        report.written = True
    return report
