"""From a CSV record to model field values: match headers to columns, convert cells, and
resolve references (organisations by short name or uid, people by e-mail or uid).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from connector.errors import InputError
from sync.i18n import _, kind_label
from sync.importing import cells
from sync.importing.columns import COLUMNS, Column, by_name
from sync.importing.csvread import Row, Table
from sync.importing.rowmerge import CLEAR, CLEARED
from sync.integrity import Lookup
from sync.model import Organisation, Person

if TYPE_CHECKING:
    from sync.importing.erased import ErasedRows


@dataclass(frozen=True)
class CellProblem:
    """A problem in one cell: the line, the column header as written, the message."""

    line: int
    column: str
    message: str
    #: Not a problem but a notice: the row is left out (``row``) or part of the cell (``cell``).
    notice: Literal["", "row", "cell"] = ""

    def render(self, name: str) -> str:
        """``file:line: column: message``."""
        return f"{name}:{self.line}: {self.column}: {self.message}"


#: At most this many problems are listed; the rest are counted (a file with 20,000 columns
#: would otherwise print megabytes).
MAX_LISTED = 50
#: At most this many unknown columns are named in the --ignore-column hint.
MAX_HINTED = 5


def listed(problems: list[str], limit: int = MAX_LISTED) -> list[str]:
    """The first ``limit`` of ``problems`` and a line counting the rest."""
    if len(problems) <= limit:
        return problems
    rest = len(problems) - limit
    summary = _("... and {rest} more problems not shown ({total} in total)").format(
        rest=f"{rest:,}", total=f"{len(problems):,}"
    )
    return [*problems[:limit], summary]


def match_columns(table: Table, kind: str, ignore: Iterable[str] = ()) -> dict[str, Column]:
    """The column each header of ``table`` fills; InputError listing unknown, doubled and
    missing required columns. Headers named in ``ignore`` are left out (each must exist)."""
    known = by_name(kind)
    matched: dict[str, Column] = {}
    problems = []
    ignored = {cells.normalise(name): name for name in ignore}
    present = {cells.normalise(header) for header in table.header}
    problems += [
        CellProblem(table.header_line, name, _("--ignore-column: the file has no such column"))
        for key, name in ignored.items()
        if key not in present
    ]
    unknown: list[str] = []
    for header in table.header:
        if not header or cells.normalise(header) in ignored:
            continue
        column = known.get(cells.normalise(header))
        if column is None:
            expected = "; ".join(c.display() for c in COLUMNS[kind])
            problems.append(
                CellProblem(
                    table.header_line,
                    header,
                    _("unknown column (see above)")
                    if unknown
                    else _("unknown column; expected: {columns}").format(columns=expected),
                )
            )
            unknown.append(header)
        elif column in matched.values():
            other = next(h for h, c in matched.items() if c == column)
            problems.append(
                CellProblem(
                    table.header_line, header, _("same column as {other}").format(other=repr(other))
                )
            )
        else:
            matched[header] = column
    problems += [
        CellProblem(table.header_line, column.display(), _("this required column is missing"))
        for column in required_columns(kind)
        if column not in matched.values()
    ]
    if problems:
        error = InputError(
            _("{file}: the header does not fit a {kind} file; nothing was imported").format(
                file=table.name, kind=kind
            ),
            listed([p.render(table.name) for p in problems]),
        )
        if unknown:
            # Named in full only for a few columns: a file with thousands of stray columns is
            # not an office's extra column but the wrong file.
            options = " ".join(
                f"--ignore-column {shlex.quote(header)}" for header in unknown[:MAX_HINTED]
            )
            if len(unknown) > MAX_HINTED:
                options += " " + _("… ({n} columns in all)").format(n=f"{len(unknown):,}")
            error.hint = _(
                "rename the column, or leave it out of the import with {options} "
                "(only the columns named are left out)"
            ).format(options=options)
        raise error
    return matched


#: Per kind: the fields that find a row's stored record (its natural key, or the uid).
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "programme": ("uid",),
    "cohort": ("uid",),
    "organisation": ("short_name",),
    "person": ("email",),
    "application": ("cohort", "applicant"),
    "tandem": ("cohort", "mentee"),
    "event": ("cohort", "title", "start"),
    "task": ("cohort", "title"),
}


def required_columns(kind: str) -> list[Column]:
    """Columns a file of ``kind`` must have: those that find each row's stored record. Other
    columns may be left out like empty cells: a stored record keeps its values, and a new one
    without a required value is reported on its line."""
    needed = KEY_FIELDS[kind]
    return [column for column in COLUMNS[kind] if column.field in needed]


class Notice(ValueError):
    """A cell that is not wrong but leaves something out of the import (an erased person)."""

    def notice(self, line: int, column: str, field: str) -> CellProblem:
        """What to tell about the cell ``column`` (of model field ``field``) on ``line``."""
        raise NotImplementedError


class Resolver:
    """Finds the uid a reference cell means, against the store (indexes built once per kind)."""

    def __init__(self, lookup: Lookup, erased: ErasedRows | None = None) -> None:
        self.lookup = lookup
        self.erased = erased
        self._index: dict[str, dict[str, str]] = {}

    def uid(self, kind: str, text: str) -> str:
        """The uid of the ``kind`` entity ``text`` names; ValueError if none."""
        found = self._of(kind).get(text.casefold())
        if found is not None:
            return found
        if kind == "organisation":
            raise ValueError(
                _("{text} is neither the short name nor the uid of an organisation").format(
                    text=repr(text)
                )
            )
        if kind == "person":
            if self.erased is not None and "@" in text:
                self.erased.refuse(text)
            what = _("e-mail") if "@" in text else _("uid")
            raise ValueError(
                _("there is no person with the {what} {text}").format(what=what, text=repr(text))
            )
        if kind == "tandem" and self.erased is not None:
            self.erased.refuse_tandem(text)
        raise ValueError(
            _("there is no {kind} {text}").format(kind=kind_label(kind), text=repr(text))
        )

    def _of(self, kind: str) -> dict[str, str]:
        if kind not in self._index:
            index: dict[str, str] = {}
            for entity in self.lookup.entities(kind):
                index[entity.uid] = entity.uid
                if isinstance(entity, Organisation):
                    index.setdefault(entity.short_name.casefold(), entity.uid)
                elif isinstance(entity, Person):
                    index.setdefault(entity.email.casefold(), entity.uid)
            self._index[kind] = index
        return self._index[kind]


def row_values(
    row: Row, kind: str, columns: dict[str, Column], resolver: Resolver
) -> tuple[dict[str, Any], list[CellProblem]]:
    """Model field values of the cells of ``row`` that say something, and their problems.

    An empty cell is left out (the stored value stays; a new record gets the default). A cell
    of exactly ``-`` gives :data:`.rowmerge.CLEARED` (see :mod:`sync.importing.rowmerge`).
    """
    values: dict[str, Any] = {}
    problems = [CellProblem(row.line, "(row)", row.overflow)] if row.overflow else []
    for header, column in columns.items():
        text = row.cells.get(header, "")
        if not text:
            continue
        if text == CLEAR:
            values[column.field] = CLEARED
            continue
        left_out: list[Notice] = []
        try:
            values[column.field] = _value(column, text, resolver, left_out)
        except Notice as exc:
            left_out.append(exc)
        except ValueError as exc:
            problems.append(CellProblem(row.line, header, str(exc)))
        problems += [n.notice(row.line, header, column.field) for n in left_out]
    return values, problems


def _value(column: Column, text: str, resolver: Resolver, left_out: list[Notice]) -> Any:
    value = column.convert(text)
    if column.type == "ref":
        return resolver.uid(column.ref, value)
    if column.type == "refs":
        uids = []
        for part in value:
            try:
                uids.append(resolver.uid(column.ref, part))
            except Notice as exc:
                left_out.append(exc)
        return uids
    return value
