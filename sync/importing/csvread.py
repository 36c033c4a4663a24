"""Reading the CSV files offices export: UTF-8 (with or without BOM), UTF-16 ("Unicode
text"), or Windows-1252 with semicolons as German Excel writes it.

Each record keeps the physical line it starts on (the header is line 1), so every problem can
be reported as ``file:line: column: message``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from connector.errors import InputError
from sync.i18n import _
from sync.textcheck import check_garbled, decode_lines

_DELIMITERS = (";", ",", "\t")


@dataclass(frozen=True)
class Row:
    """One record: the physical line it starts on and its cells by header."""

    line: int
    cells: dict[str, str]
    #: Set when the line has more cells than the header (a value missing its quotes).
    overflow: str = ""


@dataclass(frozen=True)
class Table:
    """A whole CSV file: its name as given, the header as written, and the records."""

    name: str
    header: list[str]
    rows: list[Row]
    encoding: str
    delimiter: str
    header_line: int = 1


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding): UTF-16 if it has a BOM, else strict UTF-8, else each line as UTF-8 or
    Windows-1252 (:mod:`sync.textcheck`); never garbled text."""
    if data.startswith(b"PK\x03\x04"):
        raise InputError(
            _(
                "{name}: this is a spreadsheet workbook, not CSV; in Excel choose "
                "'Speichern unter' > 'CSV (Trennzeichen-getrennt)'"
            ).format(name=name)
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            message = _("{name}: broken UTF-16 text at byte {position}")
            raise InputError(message.format(name=name, position=exc.start + 1)) from None
    if b"\x00" in data:
        raise InputError(
            _("{name}: contains NUL bytes; this is not a text (CSV) file").format(name=name)
        )
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = decode_lines(data, name)
    check_garbled(text, name)
    return text, encoding


def sniff_delimiter(header_line: str) -> str:
    """The separator used in the header line: the most frequent of ``;``, ``,`` and tab
    outside quotes (``,`` if none occurs)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(text: str, name: str, encoding: str = "utf-8") -> Table:
    """Split decoded CSV ``text`` into header and records with their line numbers."""
    if not text.strip():
        raise InputError(_("{name}: the file is empty").format(name=name))
    delimiter = sniff_delimiter(text.lstrip("\r\n").splitlines()[0])
    records = _numbered(text, delimiter, name)
    if not records:
        raise InputError(_("{name}: the file is empty").format(name=name))
    header_line, header = records[0]
    header = _header(name, header_line, header)
    rows = [_row(header, line, cells) for line, cells in records[1:]]
    return Table(name, header, rows, encoding, delimiter, header_line)


def _numbered(text: str, delimiter: str, name: str) -> list[tuple[int, list[str]]]:
    """Non-blank records with the physical line each one starts on."""
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    records = []
    last = 0
    try:
        for cells in reader:
            start, last = last + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:  # csv's own text is English
            reason = _("a cell is longer than {n} characters").format(
                n=f"{csv.field_size_limit():,}"
            )
        message = _("{where}: unreadable CSV: {reason}")
        raise InputError(message.format(where=f"{name}:{reader.line_num}", reason=reason)) from None
    return records


def _header(name: str, line: int, cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    seen: set[str] = set()
    for cell in header:
        if cell and cell.casefold() in seen:
            message = _("{where}: {column}: this column appears twice")
            raise InputError(message.format(where=f"{name}:{line}", column=cell))
        seen.add(cell.casefold())
    return header


def _row(header: list[str], line: int, cells: list[str]) -> Row:
    overflow = ""
    if any(c.strip() for c in cells[len(header) :]):
        overflow = _(
            "this line has {cells} cells but the header only {header}; "
            "is a value with a separator missing its quotes?"
        ).format(cells=len(cells), header=len(header))
    values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
    values.pop("", None)
    return Row(line, values, overflow)


def read_table(path: str | Path) -> Table:
    """Read and parse the CSV file at ``path``; every failure is an :class:`InputError`."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(_("{name}: no such file").format(name=name)) from None
    except IsADirectoryError:
        raise InputError(_("{name}: is a folder, not a CSV file").format(name=name)) from None
    except OSError as exc:
        message = _("{name}: cannot read the file: {reason}")
        raise InputError(message.format(name=name, reason=exc.strerror or exc)) from None
    text, encoding = decode(data, name)
    return parse(text, name, encoding)
